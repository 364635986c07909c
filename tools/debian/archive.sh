#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# archive.sh - private, cached apt access to Debian 13 (trixie, with
# trixie-backports and trixie-security, main) from any Debian host, without
# touching the host's own apt configuration (/etc/apt) or its dpkg database.
#
# Usage:
#   archive.sh update                  refresh the package lists (forced)
#   archive.sh version PKG             the candidate version of PKG
#   archive.sh newest REGEX            the package whose name matches REGEX
#                                      (apt-cache search --names-only) with
#                                      the highest name in version order
#   archive.sh download DESTDIR PKG... fetch PKG's .deb into DESTDIR (a .deb
#                                      already there is not fetched again);
#                                      prints the .deb paths on stdout
#   archive.sh apt-get ARGS...         apt-get with the private configuration
#   archive.sh apt-cache ARGS...       apt-cache likewise
#   archive.sh sources                 print the sources list (for a chroot)
#   archive.sh mirror|security         the Debian mirror / security mirror used
#
# The lists live under ${UNIMEM_CACHE:-~/.cache/unimem}/apt-trixie/ and are
# refreshed when older than a day (or missing), at most once per run
# (UNIMEM_ARCHIVE_FRESH=1 in the environment marks them fresh for child
# invocations). Progress goes to stderr.
set -euo pipefail

cache=${UNIMEM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/unimem}
top=$cache/apt-trixie
# The mirrors are those of the host's own apt configuration (its release and
# its security suite): the same archive serves trixie. UNIMEM_DEBIAN_MIRROR
# and UNIMEM_DEBIAN_SECURITY override them.
host_mirror() { # RELEASE-REGEX
	apt-get indextargets --format '$(REPO_URI) $(RELEASE)' 2>/dev/null |
		awk -v want="$1" '$2 ~ want { sub("/+$", "", $1); print $1; exit }'
}
mirror=${UNIMEM_DEBIAN_MIRROR:-$(host_mirror '^[a-z]+$')}
security=${UNIMEM_DEBIAN_SECURITY:-$(host_mirror '^[a-z]+-security$')}
[ -n "$mirror" ] || { echo "archive: error: no Debian mirror in the host's apt configuration; set UNIMEM_DEBIAN_MIRROR" >&2; exit 1; }
[ -n "$security" ] || security=${mirror%/*}/debian-security
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
max_age=$((24 * 3600))

log() { echo "archive: $*" >&2; }
die() { echo "archive: error: $*" >&2; exit 1; }

sources() {
	cat <<EOF
deb [signed-by=$keyring] $mirror trixie main
deb [signed-by=$keyring] $mirror trixie-backports main
deb [signed-by=$keyring] $security trixie-security main
EOF
}

apt_opts=(
	-o "Dir::Etc::sourcelist=$top/sources.list"
	-o "Dir::Etc::sourceparts=-"
	-o "Dir::Etc::preferences=$top/preferences"
	-o "Dir::Etc::preferencesparts=$top/preferences.d"
	-o "Dir::State::Lists=$top/lists"
	-o "Dir::Cache=$top/cache"
	-o "Dir::State::status=/dev/null"
	-o "APT::Architecture=amd64"
	-o "APT::Sandbox::User=root"
	-o "Debug::NoLocking=1"
)

prepare() {
	[ -f "$keyring" ] || die "$keyring missing (apt-get install debian-archive-keyring)"
	mkdir -p "$top/lists/partial" "$top/cache/archives/partial" "$top/preferences.d"
	local want
	want=$(sources)
	if [ ! -f "$top/sources.list" ] || [ "$(cat "$top/sources.list")" != "$want" ]; then
		printf '%s\n' "$want" > "$top/sources.list.tmp"
		mv "$top/sources.list.tmp" "$top/sources.list"
		rm -f "$top/lists/.unimem-updated"
	fi
}

do_update() {
	log "refreshing the trixie package lists"
	apt-get "${apt_opts[@]}" -q update >&2 || die "apt-get update failed"
	touch "$top/lists/.unimem-updated"
	export UNIMEM_ARCHIVE_FRESH=1
}

# Refresh when the lists are missing or older than a day, once per run.
maybe_update() {
	[ "${UNIMEM_ARCHIVE_FRESH:-}" = 1 ] && return 0
	local stamp=$top/lists/.unimem-updated now
	now=$(date +%s)
	if [ ! -f "$stamp" ] || [ $((now - $(stat -c %Y "$stamp"))) -gt "$max_age" ]; then
		do_update
	fi
	export UNIMEM_ARCHIVE_FRESH=1
}

candidate() {
	local v
	v=$(apt-cache "${apt_opts[@]}" policy "$1" 2>/dev/null |
		awk '/Candidate:/ {print $2; exit}')
	if [ -z "$v" ] || [ "$v" = "(none)" ]; then
		die "no package $1 in trixie/trixie-backports"
	fi
	echo "$v"
}

# download DESTDIR PKG...: apt-get download, skipping what is already there.
do_download() {
	local dest=$1 pkg ver file
	shift
	mkdir -p "$dest"
	for pkg in "$@"; do
		ver=$(candidate "$pkg")
		# apt-get download names files PKG_VERSION_ARCH.deb, with ':' as %3a.
		file=$(compgen -G "$dest/${pkg}_${ver//:/%3a}_*.deb" | head -n 1 || true)
		if [ -z "$file" ]; then
			log "downloading $pkg $ver"
			(cd "$dest" && apt-get "${apt_opts[@]}" -q download "$pkg=$ver" >&2) ||
				die "downloading $pkg $ver failed"
			file=$(compgen -G "$dest/${pkg}_${ver//:/%3a}_*.deb" | head -n 1 || true)
			[ -n "$file" ] || die "$pkg $ver: no .deb in $dest after download"
		fi
		echo "$file"
	done
}

usage() { awk 'NR > 2 && /^#/ { sub(/^# ?/, ""); print; next } NR > 2 { exit }' "$0" >&2; exit 2; }

[ $# -ge 1 ] || usage
cmd=$1
shift
prepare
case "$cmd" in
update) do_update ;;
version)
	[ $# -eq 1 ] || usage
	maybe_update
	candidate "$1"
	;;
newest)
	[ $# -eq 1 ] || usage
	maybe_update
	name=$(apt-cache "${apt_opts[@]}" search --names-only "$1" | awk '{print $1}' |
		sort -V | tail -n 1)
	[ -n "$name" ] || die "no package matches $1"
	echo "$name"
	;;
download)
	[ $# -ge 2 ] || usage
	maybe_update
	do_download "$@"
	;;
apt-get | apt-cache)
	maybe_update
	exec "$cmd" "${apt_opts[@]}" "$@"
	;;
sources) sources ;;
mirror) echo "$mirror" ;;
security) echo "$security" ;;
*) usage ;;
esac
