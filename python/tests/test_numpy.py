# SPDX-License-Identifier: MIT
"""NumPy on unimem (ctest api.numpy): arrays allocated through unimem hold
correct data, prefetch moves their pages (page by page, between every pair
of host nodes this machine has), the hints and the location list work, and
freed arrays give their memory back. Deterministic: no timings, no
free-memory values (but a unimem device's in a VM guest, where nothing else
uses it).

The same file runs in the VM guests (api.numpy.vm, api.numpy.numa), where
two variables turn what the host skips into checks that must hold:
UNIMEM_TEST_DEVICES=N (the module's N devices are there: prefetch to each,
page by page) and UNIMEM_TEST_CPULESS=1 (a CPU-less node is there: prefetch
and placement on it, page by page, as the kernel's move_pages sees it)."""
import gc
import os
import threading
import unittest

import numpy as np

import unimem

PAGE = os.sysconf("SC_PAGE_SIZE")


def host_nodes():
    return [l["name"] for l in unimem.locations() if l["kind"] == "host"]


def node_index(name):
    """The OS node number of a host location ("node1" -> 1)."""
    assert name.startswith("node"), name
    return int(name[4:])


class Base(unittest.TestCase):
    def setUp(self):
        self.old = unimem.install()

    def tearDown(self):
        unimem.set_handler(self.old)
        unimem.set_placement(None)

    def assertAllAt(self, pages, where):
        """Every entry of a per-page list is @where. (Not assertEqual on
        the lists: its diff of thousands of entries takes minutes under
        TCG, and a broken prefetch must fail, not time out.)"""
        self.assertTrue(pages, "no page")
        bad = [i for i, p in enumerate(pages) if p != where]
        if bad:
            self.fail(f"{len(bad)} of {len(pages)} pages not at {where!r}: "
                      f"page {bad[0]} at {pages[bad[0]]!r}, page {bad[-1]} at {pages[bad[-1]]!r}")


class TestAllocator(Base):
    def test_installed(self):
        self.assertTrue(unimem.installed())
        self.assertEqual(np.core.multiarray.get_handler_name(), "unimem")
        a = np.arange(10)
        self.assertEqual(np.core.multiarray.get_handler_name(a), "unimem")
        self.assertTrue(unimem.is_live(a.ctypes.data))

    def test_data(self):
        # small (allocator pages) and large (own mappings) arrays, every op
        # that allocates: creation, ufuncs, reshape copies, realloc (resize)
        for n in (1, 7, 1000, 300_000, 3_000_000):
            a = np.arange(n, dtype=np.int64)
            b = a * 3 + 1
            self.assertEqual(int(b.sum()), 3 * n * (n - 1) // 2 + n)
            c = np.zeros(n)
            self.assertEqual(float(c.sum()), 0.0)
            d = np.ones((n, 2), dtype=np.float32).T.copy()
            self.assertEqual(d.shape, (2, n))
            self.assertEqual(float(d.sum()), 2.0 * n)
            e = np.empty(n, dtype=np.uint8)
            e[:] = 0xAB
            self.assertTrue(bool((e == 0xAB).all()))
        r = np.arange(5.0)
        r.resize(200_000, refcheck=False)  # realloc through the handler
        self.assertEqual(list(r[:5]), [0.0, 1.0, 2.0, 3.0, 4.0])
        self.assertEqual(float(r[5:].sum()), 0.0)
        m = np.random.default_rng(1).random((300, 300))
        self.assertTrue(np.allclose(m @ np.eye(300), m))

    def test_arrays_of_other_allocators(self):
        # an array made by NumPy's default handler is freed by it, here too
        unimem.set_handler(self.old)
        a = np.arange(100_000)
        unimem.install()
        self.assertFalse(unimem.is_live(a.ctypes.data))
        b = a + 1
        self.assertTrue(unimem.is_live(b.ctypes.data))
        del a
        self.assertEqual(int(b[-1]), 100_000)

    def test_free_returns_memory(self):
        size = 16 << 20
        a = np.ones(size // 8)
        addr, nbytes = a.ctypes.data, a.nbytes
        self.assertGreater(unimem.resident_pages(addr, nbytes), nbytes // PAGE // 2)
        small = [np.ones(100) for _ in range(100)]
        small_addrs = [s.ctypes.data for s in small]
        del a, small
        gc.collect()
        self.assertFalse(unimem.is_live(addr))
        self.assertFalse(any(unimem.is_live(s) for s in small_addrs))
        unimem.collect()
        self.assertEqual(unimem.resident_pages(addr, nbytes), 0)

    def test_other_threads_default(self):
        # NumPy keeps the handler in a context variable: a new thread
        # starts with the default one, and can install unimem itself
        names = []

        def work():
            names.append(np.core.multiarray.get_handler_name())
            old = unimem.install()
            names.append(np.core.multiarray.get_handler_name(np.arange(3)))
            unimem.set_handler(old)
        t = threading.Thread(target=work)
        t.start()
        t.join()
        self.assertEqual(names, ["default_allocator", "unimem"])


class TestLocations(Base):
    def test_list(self):
        locs = unimem.locations()
        self.assertGreaterEqual(len(locs), 1)
        self.assertEqual(locs[0]["kind"], "host")
        for loc in locs:
            for key in ("name", "kind", "total_bytes", "free_bytes", "cpus", "cpuless",
                        "cpu_access", "bandwidth_mibps", "latency_ns"):
                self.assertIn(key, loc)
            self.assertGreater(loc["total_bytes"], 0)
            self.assertEqual(unimem.location_info(loc["name"])["name"], loc["name"])
        self.assertIn(unimem.current(), host_nodes())
        self.assertIn(unimem.best("capacity", host_only=True), host_nodes())
        bw = [l["bandwidth_mibps"] for l in locs]
        if not any(bw):
            self.assertIsNone(unimem.best("bandwidth"))
        with self.assertRaises(ValueError):
            unimem.best("speed")
        with self.assertRaises(ValueError):
            unimem.location_info("gpu7")
        with self.assertRaises(OSError):
            unimem.location_info("node4000")

    def test_placement(self):
        for node in host_nodes():
            with unimem.on(node):
                self.assertEqual(unimem.placement(), node)
                a = np.full(200_000, 7, dtype=np.int32)  # > 512 KiB: own mapping
                b = np.full(1000, 5, dtype=np.int32)     # small block
            self.assertEqual(unimem.placement(), "none")
            self.assertEqual(unimem.location_of(a), node)
            self.assertEqual(set(unimem.page_locations(a)), {node})
            self.assertEqual(unimem.location_of(b), node)
            self.assertEqual(int(a.sum()), 7 * 200_000)
        with unimem.on("current"):
            self.assertEqual(unimem.placement(), unimem.current())
        with self.assertRaises(OSError):
            with unimem.on("node4000"):
                pass
        self.assertEqual(unimem.placement(), "none")

    def test_on_restores_handler(self):
        unimem.set_handler(None)
        self.assertFalse(unimem.installed())
        with unimem.on("system"):
            self.assertTrue(unimem.installed())
        self.assertFalse(unimem.installed())


class TestHints(Base):
    def test_prefetch_page_by_page(self):
        nodes = host_nodes()
        a = np.arange(1 << 20, dtype=np.int64)  # 8 MiB
        want = a.copy()
        npages = len(unimem.page_locations(a))
        for i, node in enumerate(nodes + nodes[:1]):
            self.assertGreaterEqual(unimem.prefetch(a, node), a.nbytes // PAGE)
            self.assertAllAt(unimem.page_locations(a), node)
            # and as the kernel sees it, not only the library
            self.assertAllAt(unimem.page_nodes(a), node_index(node))
            self.assertEqual(unimem.location_of(a), node)
            self.assertTrue(np.array_equal(a, want))
        # a strided view: the span it touches
        v = a[::4096]
        self.assertGreater(unimem.prefetch(v, nodes[-1]), 0)
        self.assertEqual(set(unimem.page_locations(v)), {nodes[-1]})
        self.assertEqual(unimem.prefetch(a, "current"), npages)
        self.assertEqual(unimem.location_of(a), unimem.current())

    def test_prefetch_batch(self):
        nodes = host_nodes()
        arrays = [np.full(100_000, i, dtype=np.int64) for i in range(5)]
        pairs = [(a, nodes[i % len(nodes)]) for i, a in enumerate(arrays)]
        self.assertGreater(unimem.prefetch_batch(pairs), 0)
        for i, (a, node) in enumerate(pairs):
            self.assertEqual(set(unimem.page_locations(a)), {node})
            self.assertTrue(bool((a == i).all()))
        self.assertGreater(unimem.prefetch_batch(pairs[:2], discard=True), 0)
        self.assertEqual(int(np.count_nonzero(arrays[1])), 0)
        self.assertEqual(unimem.prefetch_batch([]), 0)
        with self.assertRaises(TypeError):
            unimem.prefetch_batch([arrays[0]])
        with self.assertRaises(OSError):
            unimem.prefetch_batch([(arrays[0], "node4000")])

    def test_discard(self):
        a = np.full(1 << 20, 3, dtype=np.int64)
        node = host_nodes()[-1]
        self.assertGreaterEqual(unimem.prefetch(a, node, discard=True), a.nbytes // PAGE)
        self.assertEqual(int(np.count_nonzero(a)), 0)
        self.assertEqual(unimem.location_of(a), node)
        a[:] = 5
        self.assertGreater(unimem.discard(a), 0)
        self.assertEqual(int(np.count_nonzero(a)), 0)
        a[:] = 6
        unimem.discard(a, lazy=True)
        a[:10] = 9
        self.assertEqual(list(a[:10]), [9] * 10)

    def test_advise(self):
        a = np.ones(1 << 18)
        node = host_nodes()[-1]
        unimem.advise(a, "preferred_location", node)
        unimem.advise(a, "accessed_by", "current")
        unimem.advise(a, "read_mostly")
        unimem.advise(a, "unset_read_mostly")
        unimem.advise(a, "unset_preferred_location")
        with self.assertRaises(ValueError):
            unimem.advise(a, "hot")
        with self.assertRaises(OSError):
            unimem.advise(a, "preferred_location", "node4000")

    def test_bad_input(self):
        with self.assertRaises(TypeError):
            unimem.prefetch([1, 2, 3], "node0")
        with self.assertRaises(ValueError):
            unimem.prefetch(np.ones(0), "node0")
        with self.assertRaises(ValueError):
            unimem.prefetch(np.ones(10), "nowhere")
        with self.assertRaises(TypeError):
            unimem.prefetch(np.ones(10), 1.5)


class TestDevices(Base):
    """The module's devices (VM guest with unimem.ko): an array prefetched
    to a device has every page there and comes back with its data."""

    def setUp(self):
        super().setUp()
        self.devs = [l["name"] for l in unimem.locations() if l["kind"] == "device"]
        want = int(os.environ.get("UNIMEM_TEST_DEVICES", "0"))
        if want:
            self.assertEqual(len(self.devs), want, unimem.locations())
        elif not self.devs:
            self.skipTest("no unimem device (the module is not loaded)")
        self.host = unimem.current()

    def test_prefetch_page_by_page(self):
        a = np.arange(1 << 20, dtype=np.int64)  # 8 MiB: 2048 pages
        want = np.arange(1 << 20, dtype=np.int64)
        npages = len(unimem.page_locations(a))
        # host -> each device in turn (device to device), then home; the
        # pages are only looked at, never touched, while on a device
        for dev in self.devs:
            self.assertEqual(unimem.prefetch(a, dev), npages)
            self.assertAllAt(unimem.page_locations(a), dev)
            self.assertEqual(unimem.location_of(a), dev)
            # no page is on a host node any more (the kernel says so too)
            self.assertTrue(all(n < 0 for n in unimem.page_nodes(a)))
        self.assertEqual(unimem.prefetch(a, self.host), npages)
        self.assertAllAt(unimem.page_locations(a), self.host)
        self.assertAllAt(unimem.page_nodes(a), node_index(self.host))
        self.assertTrue(np.array_equal(a, want))

    def test_cpu_access_brings_pages_home(self):
        a = np.arange(1 << 18, dtype=np.int64) * 5
        npages = len(unimem.page_locations(a))
        self.assertEqual(unimem.prefetch(a, self.devs[-1]), npages)
        self.assertAllAt(unimem.page_locations(a), self.devs[-1])
        self.assertEqual(int(a.sum()), 5 * (1 << 18) * ((1 << 18) - 1) // 2)
        a[::PAGE // 8] += 1  # a write to every page
        self.assertTrue(set(unimem.page_locations(a)) <= set(host_nodes()))
        self.assertEqual(int(a[PAGE // 8]), 5 * (PAGE // 8) + 1)

    def test_batch_and_views(self):
        arrays = [np.full(100_000, i, dtype=np.int32) for i in range(4)]
        pairs = [(a, self.devs[i % len(self.devs)]) for i, a in enumerate(arrays)]
        self.assertGreater(unimem.prefetch_batch(pairs), 0)
        for a, dev in pairs:
            self.assertEqual(set(unimem.page_locations(a)), {dev})
        # a strided view moves the pages its elements span
        b = np.arange(1 << 20, dtype=np.int64)
        v = b[::1024]
        self.assertGreater(unimem.prefetch(v, self.devs[0]), 0)
        self.assertEqual(set(unimem.page_locations(v)), {self.devs[0]})
        self.assertEqual(unimem.prefetch(b, "current"), len(unimem.page_locations(b)))
        for i, (a, _) in enumerate(pairs):
            self.assertTrue(bool((a == i).all()))
        self.assertTrue(np.array_equal(b, np.arange(1 << 20, dtype=np.int64)))

    def test_free_returns_device_memory(self):
        # Nothing else uses the devices in the guest: once the arrays are
        # freed and the library has given its caches back, every device
        # has the free bytes it had before.
        dev = self.devs[0]
        unimem.collect()
        before = unimem.location_info(dev)["free_bytes"]
        a = np.ones(4 << 17)  # 4 MiB
        addr, nbytes = a.ctypes.data, a.nbytes
        self.assertEqual(unimem.prefetch(a, dev), nbytes // PAGE)
        self.assertLessEqual(unimem.location_info(dev)["free_bytes"], before - nbytes)
        del a
        gc.collect()
        self.assertFalse(unimem.is_live(addr))
        unimem.collect()
        self.assertEqual(unimem.resident_pages(addr, nbytes), 0)
        self.assertEqual(unimem.location_info(dev)["free_bytes"], before)


class TestCpuless(Base):
    """A CPU-less memory node (the NUMA VM guest): arrays prefetched or
    placed there have each page on it, as the kernel's move_pages says."""

    def setUp(self):
        super().setUp()
        cpuless = [l["name"] for l in unimem.locations()
                   if l["kind"] == "host" and l["cpuless"]]
        if os.environ.get("UNIMEM_TEST_CPULESS"):
            self.assertTrue(cpuless, unimem.locations())
        elif not cpuless:
            self.skipTest("no CPU-less node")
        self.node = cpuless[0]
        self.here = unimem.current()
        self.assertNotEqual(self.node, self.here)

    def test_prefetch_page_by_page(self):
        a = np.arange(1 << 20, dtype=np.int64)
        want = np.arange(1 << 20, dtype=np.int64)
        npages = len(unimem.page_nodes(a))
        self.assertAllAt(unimem.page_nodes(a), node_index(self.here))
        self.assertGreaterEqual(unimem.prefetch(a, self.node), npages)
        self.assertAllAt(unimem.page_nodes(a), node_index(self.node))
        self.assertAllAt(unimem.page_locations(a), self.node)
        # reading from a CPU does not move host pages
        self.assertTrue(np.array_equal(a, want))
        self.assertAllAt(unimem.page_nodes(a), node_index(self.node))
        self.assertEqual(unimem.prefetch(a, "current"), npages)
        self.assertAllAt(unimem.page_nodes(a), node_index(self.here))
        self.assertTrue(np.array_equal(a, want))

    def test_placed_arrays(self):
        idx = node_index(self.node)
        with unimem.on(self.node):
            big = np.full(1 << 20, 3, dtype=np.int64)   # own mapping
            small = np.arange(1000, dtype=np.int64)    # allocator pages
            derived = big * 2 + 1                      # a ufunc's result
        for a in (big, small, derived):
            nodes = unimem.page_nodes(a)
            self.assertAllAt(nodes, idx)
        self.assertEqual(int(derived.sum()), 7 * (1 << 20))
        self.assertEqual(int(small.sum()), 999 * 1000 // 2)
        # made outside the block: back where this thread runs
        c = big + 1
        self.assertEqual(set(unimem.page_nodes(c)), {node_index(self.here)})

    def test_free_returns_memory(self):
        with unimem.on(self.node):
            a = np.ones(2 << 20)  # 16 MiB on the CPU-less node
        addr, nbytes = a.ctypes.data, a.nbytes
        self.assertEqual(set(unimem.page_nodes(a)), {node_index(self.node)})
        del a
        gc.collect()
        self.assertFalse(unimem.is_live(addr))
        unimem.collect()
        self.assertEqual(unimem.resident_pages(addr, nbytes), 0)


if __name__ == "__main__":
    unittest.main()
