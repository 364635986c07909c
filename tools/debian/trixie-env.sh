#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# trixie-env.sh - a cached Debian 13 (trixie) build chroot: minbase, with
# trixie-backports and trixie-security enabled, gcc-14, make, dkms, kmod and
# Debian's kernel headers packages. Used to build unimem.ko the way a Debian
# 13 user does (tools/debian/stock-kernel.sh, tools/debian/compile-check.sh).
#
# Usage:
#   trixie-env.sh [-p PKG]... root
#       build the chroot if needed and print its directory
#   trixie-env.sh [-p PKG]... run [-b HOST[:GUEST]]... [-w DIR] [--] CMD [ARG]...
#       run CMD in the chroot as root, with /proc, /sys, /dev and a fresh
#       /tmp mounted, and each HOST directory bind-mounted at GUEST (default:
#       the same path); -w: the working directory inside
#   trixie-env.sh [-p PKG]... shell [-b HOST[:GUEST]]...
#       an interactive shell in it
#   trixie-env.sh [-p PKG]... defaults
#       print the package list (and so what the chroot would hold)
#
# Packages: the base set (gcc-14 make dkms kmod libc6-dev xz-utils openssl)
# plus the kernel packages: -p PKG (repeatable) or UNIMEM_TRIXIE_HEADERS
# (space-separated) name them; the default is Debian 13's 7.3, 7.2 (from
# trixie-backports) and 6.12 headers, newest of each in the archive, and the
# 7.3 modules (`trixie-env.sh defaults` prints them). Debian's 6.12 headers
# depend on the 6.12 image, so that comes too. The chroot is cached under
# ${UNIMEM_CACHE:-~/.cache/unimem}/debian13/root-KEY, KEY a hash of the
# package list and this recipe, so changing either builds a new one. It is
# built in a temporary directory and renamed when complete, so an interrupted
# build is simply redone. All mounts live in a private mount namespace
# (unshare -m): they vanish with the command, even when it is killed.
# Chroots unused for a week are removed when a new one is built.
# Progress goes to stderr; `root` prints only the directory on stdout.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# Default kernel packages: the newest Debian 13 headers of each series in
# default_series (7.x from trixie-backports), and the modules of the first
# one: that kernel then counts as installed, so `dkms install` for it runs
# depmod and compresses the module as on a user's machine
# (tools/debian/stock-kernel.sh).
default_series=(7.3 7.2 6.12)
base_packages=(gcc-14 make dkms kmod libc6-dev xz-utils openssl)
# Bump when the way the chroot is built changes.
recipe=1

cache=${UNIMEM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/unimem}
top=$cache/debian13
# The host's own Debian mirror (tools/debian/archive.sh finds it).
mirror=$("$(dirname "${BASH_SOURCE[0]}")/archive.sh" mirror)
security=$("$(dirname "${BASH_SOURCE[0]}")/archive.sh" security)

log() { echo "trixie-env: $*" >&2; }
die() { echo "trixie-env: error: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (debootstrap, chroot, mounts)"

host_tools() {
	local missing=()
	command -v debootstrap >/dev/null 2>&1 || [ -x /usr/sbin/debootstrap ] || missing+=(debootstrap)
	command -v unshare >/dev/null 2>&1 || missing+=(util-linux)
	[ -f /usr/share/keyrings/debian-archive-keyring.gpg ] || missing+=(debian-archive-keyring)
	command -v flock >/dev/null 2>&1 || missing+=(util-linux)
	if [ ${#missing[@]} -gt 0 ]; then
		log "installing on the host: ${missing[*]}"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
			"${missing[@]}" >&2 ||
			{ apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
				--no-install-recommends "${missing[@]}" >&2; } ||
			die "could not install ${missing[*]}"
	fi
	[ -e /usr/share/debootstrap/scripts/trixie ] || die "this debootstrap does not know trixie"
}

# The newest linux-headers-SERIES.N+deb13-amd64 of each default series.
default_packages() {
	local s h first=
	for s in "${default_series[@]}"; do
		h=$("$here/archive.sh" newest "^linux-headers-${s//./\\.}\\.[0-9]+\\+deb13-amd64\$") ||
			die "no Debian 13 headers of the $s series in the archive"
		echo "$h"
		if [ -z "$first" ]; then
			first=1
			echo "linux-modules-${h#linux-headers-}"
		fi
	done | paste -sd ' '
}

headers=()
while [ $# -gt 0 ]; do
	case "$1" in
	-p) headers+=("${2:?-p needs a package}"); shift 2 ;;
	*) break ;;
	esac
done
if [ ${#headers[@]} -eq 0 ]; then
	if [ -n "${UNIMEM_TRIXIE_HEADERS:-}" ]; then
		read -r -a headers <<< "$UNIMEM_TRIXIE_HEADERS"
	else
		defaults=$(default_packages)
		read -r -a headers <<< "$defaults"
	fi
fi
packages=("${base_packages[@]}" "${headers[@]}")
key=$(printf '%s\n' "recipe $recipe" "$mirror" "${packages[@]}" | LC_ALL=C sort |
	sha256sum | cut -c1-16)
root=$top/root-$key

# The chroot's own apt sources (Debian 13 with backports and security).
chroot_sources() {
	cat <<EOF
deb $mirror trixie main
deb $mirror trixie-updates main
deb $mirror trixie-backports main
deb $security trixie-security main
EOF
}

# in_ns ROOT BINDS... -- CMD...: run CMD chrooted in ROOT inside a private
# mount namespace with the API filesystems and the bind mounts.
in_ns() {
	local r=$1
	shift
	# shellcheck disable=SC2016 # expanded by the inner shell
	unshare --mount --propagation private -- /bin/bash -euc '
		r=$1; shift
		mount -t proc proc "$r/proc"
		mount -t sysfs sysfs "$r/sys"
		mount --rbind /dev "$r/dev"
		mount -t tmpfs -o mode=1777 tmpfs "$r/tmp"
		while [ "$1" != -- ]; do
			src=${1%%:*} dst=${1#*:}
			mkdir -p "$r$dst"
			mount --rbind "$src" "$r$dst"
			shift
		done
		shift
		[ -f /etc/resolv.conf ] && cp -L /etc/resolv.conf "$r/etc/resolv.conf" 2>/dev/null || true
		exec chroot "$r" "$@"
	' in_ns "$r" "$@"
}

chroot_env=(/usr/bin/env -i HOME=/root TERM="${TERM:-dumb}" LANG=C.UTF-8
	PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
	DEBIAN_FRONTEND=noninteractive)

build_root() {
	local tmp=$root.tmp.$$ t0 arch=$top/apt-archives
	mkdir -p "$top" "$top/debootstrap-cache" "$arch/partial"
	# Leftovers of interrupted builds (their mounts died with their
	# namespaces; refuse if anything is still mounted there).
	local old
	for old in "$top"/root-*.tmp.*; do
		[ -e "$old" ] || continue
		if findmnt -rn -o TARGET | grep -qF "$old"; then
			die "$old has mounts; unmount them first"
		fi
		log "removing the interrupted build $old"
		rm -rf --one-file-system "$old"
	done
	log "debootstrap --variant=minbase trixie into $tmp"
	t0=$SECONDS
	unshare --mount --propagation private -- \
		debootstrap --variant=minbase --cache-dir="$top/debootstrap-cache" \
		--keyring=/usr/share/keyrings/debian-archive-keyring.gpg \
		trixie "$tmp" "$mirror" > "$top/debootstrap.log" 2>&1 ||
		{ tail -n 30 "$top/debootstrap.log" >&2; die "debootstrap failed (log: $top/debootstrap.log)"; }
	log "debootstrap took $((SECONDS - t0)) s"
	chroot_sources > "$tmp/etc/apt/sources.list"
	rm -f "$tmp/etc/apt/sources.list.d/"*
	cat > "$tmp/etc/apt/apt.conf.d/90unimem" <<'EOF'
APT::Install-Recommends "false";
APT::Install-Suggests "false";
Acquire::Languages "none";
EOF
	# No services start in the chroot.
	printf '#!/bin/sh\nexit 101\n' > "$tmp/usr/sbin/policy-rc.d"
	chmod 755 "$tmp/usr/sbin/policy-rc.d"
	t0=$SECONDS
	log "installing ${packages[*]}"
	in_ns "$tmp" "$arch:/var/cache/apt/archives" -- "${chroot_env[@]}" /bin/sh -ec '
		apt-get -q update
		apt-get -y -q install --no-install-recommends "$@"
		apt-get clean
	' sh "${packages[@]}" > "$top/install.log" 2>&1 ||
		{ tail -n 30 "$top/install.log" >&2; die "installing the packages failed (log: $top/install.log)"; }
	log "packages installed in $((SECONDS - t0)) s"
	printf '%s\n' "${packages[@]}" > "$tmp/.unimem-packages"
	touch "$tmp/.unimem-ready"
	rm -rf --one-file-system "$root"
	mv "$tmp" "$root"
	log "chroot ready: $root"
}

ensure_root() {
	if [ -f "$root/.unimem-ready" ]; then
		touch "$root/.unimem-used"
		return 0
	fi
	host_tools
	mkdir -p "$top"
	# One builder at a time per machine.
	exec 9> "$top/.build.lock"
	flock 9
	[ -f "$root/.unimem-ready" ] || build_root
	touch "$root/.unimem-used"
	# Chroots of other package lists (older kernel point releases) go when
	# unused for a week (about 1 GB each).
	local old
	for old in "$top"/root-*; do
		[ "$old" != "$root" ] || continue
		if [ -f "$old/.unimem-used" ] && [ -n "$(find "$old/.unimem-used" -mtime +7)" ]; then
			log "removing $old (unused for a week)"
			rm -rf --one-file-system "$old"
		fi
	done
	exec 9>&-
}

# parse_binds ARGS...: sets binds[] (HOST:GUEST), workdir and rest[].
parse_binds() {
	binds=() workdir=/ rest=()
	local b src dst
	while [ $# -gt 0 ]; do
		case "$1" in
		-b)
			b=${2:?-b needs HOST[:GUEST]}
			src=${b%%:*}
			dst=$src
			[ "$b" = "$src" ] || dst=${b#*:}
			src=$(realpath -e "$src") || die "$src does not exist"
			case "$dst" in /*) ;; *) die "-b $b: GUEST must be absolute" ;; esac
			binds+=("$src:$dst")
			shift 2
			;;
		-w) workdir=${2:?-w needs a directory}; shift 2 ;;
		--) shift; break ;;
		*) break ;;
		esac
	done
	rest=("$@")
}

usage() { awk 'NR > 2 && /^#/ { sub(/^# ?/, ""); print; next } NR > 2 { exit }' "$0" >&2; exit 2; }

[ $# -ge 1 ] || usage
cmd=$1
shift
case "$cmd" in
root)
	ensure_root
	echo "$root"
	;;
defaults) printf '%s\n' "${packages[@]}" ;;
run | shell)
	parse_binds "$@"
	if [ "$cmd" = shell ]; then
		rest=(/bin/bash -l)
	fi
	[ ${#rest[@]} -gt 0 ] || usage
	ensure_root
	# shellcheck disable=SC2016 # expanded by the inner shell
	in_ns "$root" "${binds[@]}" -- "${chroot_env[@]}" /bin/sh -c 'cd "$1" && shift && exec "$@"' sh \
		"$workdir" "${rest[@]}"
	;;
*) usage ;;
esac
