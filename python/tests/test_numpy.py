# SPDX-License-Identifier: MIT
"""NumPy on unimem (ctest api.numpy): arrays allocated through unimem hold
correct data, prefetch moves their pages (page by page, between every pair
of host nodes this machine has), the hints and the location list work, and
freed arrays give their memory back. Deterministic: no timings, no
free-memory values."""
import gc
import os
import threading
import unittest

import numpy as np

import unimem

PAGE = os.sysconf("SC_PAGE_SIZE")


def host_nodes():
    return [l["name"] for l in unimem.locations() if l["kind"] == "host"]


class Base(unittest.TestCase):
    def setUp(self):
        self.old = unimem.install()

    def tearDown(self):
        unimem.set_handler(self.old)
        unimem.set_placement(None)


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
            self.assertEqual(unimem.page_locations(a), [node] * npages)
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


if __name__ == "__main__":
    unittest.main()
