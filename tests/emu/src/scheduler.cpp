// The emulator's execution of a kernel launch: one Boost.Context fiber per CUDA thread, the
// threads of a block run on the calling OS thread, warp by warp (run_block), each until it
// reaches a block barrier, a warp collective or its end; blocks run one after another. A fiber switch
// is a few register saves (fcontext), no system call, which is what makes per-thread execution
// of whole test suites affordable (swapcontext would make a sigprocmask call per switch).
#include <boost/context/fiber.hpp>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdarg>
#include <unordered_map>

#include "emu_internal.h"
#include "merino_emu.h"

#undef asm

namespace merino_emu {
namespace {

namespace ctx = boost::context;

constexpr size_t kPage = 4096;
constexpr size_t kStackBytes = 256 * 1024;  // per CUDA thread, with a guard page below
constexpr int kWarp = 32;

[[noreturn]] void die(const char* msg) {
  (void)!write(2, msg, strlen(msg));
  abort();
}

void* map_pages(size_t bytes) {
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) die("merino_emu: mmap failed\n");
  return p;
}

// ---- fiber stacks: kMaxThreadsPerBlock stacks mapped once, each above an inaccessible page
struct StackPool {
  unsigned char* base = nullptr;
  StackPool() {
    const size_t slot = kStackBytes + kPage;
    base = static_cast<unsigned char*>(map_pages(slot * kMaxThreadsPerBlock));
    for (int i = 0; i < kMaxThreadsPerBlock; ++i) mprotect(base + i * slot, kPage, PROT_NONE);
  }
  void* top(int i) const { return base + (i + 1) * (kStackBytes + kPage); }
  bool in_guard(const void* addr) const {
    const auto a = static_cast<const unsigned char*>(addr);
    if (a < base || a >= base + (kStackBytes + kPage) * kMaxThreadsPerBlock) return false;
    return size_t(a - base) % (kStackBytes + kPage) < kPage;
  }
};

struct PoolStack {
  void* top;
  ctx::stack_context allocate() {
    ctx::stack_context sc;
    sc.size = kStackBytes;
    sc.sp = top;
    return sc;
  }
  void deallocate(ctx::stack_context&) noexcept {}
};

// ---- dynamic shared memory: one region whose end touches an inaccessible page
struct DynamicShared {
  unsigned char* region = nullptr;  // kSharedPerBlockOptin rounded up to pages, then the guard
  unsigned char* guard = nullptr;
  DynamicShared() {
    const size_t bytes = (kSharedPerBlockOptin + 128 + kPage - 1) / kPage * kPage;
    region = static_cast<unsigned char*>(map_pages(bytes + kPage));
    guard = region + bytes;
    mprotect(guard, kPage, PROT_NONE);
  }
};

enum class State { kRunnable, kAtBarrier, kInCollective, kDone };

struct Thread {
  ThreadView view;
  int linear = 0;
  State state = State::kRunnable;
  ctx::fiber self, sched;
};

struct Warp {
  uint32_t existing = 0, exited = 0, waiting = 0;
  uint32_t wait_mask[kWarp] = {};
  void* slot[kWarp] = {};
};

struct Launch {
  const char* name = "";
  LaunchConfig cfg{};
  void (*body)(void*) = nullptr;
  void* ctx = nullptr;
  size_t smem = 0;
  unsigned char* dyn = nullptr;  // this launch's dynamic shared memory
  int nthreads = 0;
  std::vector<Thread> threads;
  std::vector<Warp> warps;
  int live = 0, at_barrier = 0;
  uint3 block{};
  // static shared memory of the running block
  std::vector<std::pair<const void*, size_t>> statics;  // key, offset
  size_t static_used = 0;
  unsigned long long seed = 0;
};

StackPool* g_stacks = nullptr;
DynamicShared* g_dyn = nullptr;
unsigned char* g_static_arena = nullptr;  // kSharedPerBlock bytes
Launch* g_launch = nullptr;               // the launch running now
thread_local Thread* g_thread = nullptr;  // the CUDA thread running now
unsigned long long g_launch_count = 0;
bool g_descending = false;  // MERINO_EMU_SCHEDULE=descending: highest thread first
std::unordered_map<const void*, size_t> g_max_dynamic;
cudaError_t g_last_error = cudaSuccess;

void on_segv(int, siginfo_t* info, void*) {
  if (g_dyn && g_launch && info->si_addr >= g_dyn->guard && info->si_addr < g_dyn->guard + kPage) {
    char msg[256];
    snprintf(msg, sizeof msg,
             "merino_emu: kernel %s accessed dynamic shared memory past the %zu bytes its launch "
             "requested\n",
             g_launch->name, g_launch->smem);
    die(msg);
  }
  if (g_stacks && g_stacks->in_guard(info->si_addr)) {
    die("merino_emu: a CUDA thread overflowed its 256 KiB stack\n");
  }
  signal(SIGSEGV, SIG_DFL);  // anything else: the default action when the access repeats
}

void init_once() {
  if (g_stacks) return;
  g_stacks = new StackPool;
  g_dyn = new DynamicShared;
  g_static_arena = static_cast<unsigned char*>(map_pages(kSharedPerBlock));
  const char* order = getenv("MERINO_EMU_SCHEDULE");
  g_descending = order && strcmp(order, "descending") == 0;
  static unsigned char alt_stack[64 * 1024];
  stack_t ss{};
  ss.ss_sp = alt_stack;
  ss.ss_size = sizeof alt_stack;
  sigaltstack(&ss, nullptr);
  struct sigaction sa {};
  sa.sa_sigaction = on_segv;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigaction(SIGSEGV, &sa, nullptr);
}

void yield(Thread& t) { t.sched = std::move(t.sched).resume(); }

std::string lanes(uint32_t m) {
  char buf[16];
  snprintf(buf, sizeof buf, "0x%08x", m);
  return buf;
}

void release_barrier(Launch& L) {
  for (Thread& t : L.threads)
    if (t.state == State::kAtBarrier) t.state = State::kRunnable;
  L.at_barrier = 0;
}

void finish(Thread& t) {
  Launch& L = *g_launch;
  t.state = State::kDone;
  --L.live;
  Warp& w = L.warps[t.linear / kWarp];
  const uint32_t bit = 1u << (t.linear % kWarp);
  w.exited |= bit;
  for (int l = 0; l < kWarp; ++l) {
    if ((w.waiting >> l & 1u) && (w.wait_mask[l] & bit)) {
      fail("thread %d exited while lane %d of its warp waits for it in a warp collective "
           "(mask %s)",
           t.linear, l, lanes(w.wait_mask[l]).c_str());
    }
  }
  // exited threads do not take part in later barriers (sm_70+)
  if (L.at_barrier > 0 && L.at_barrier == L.live) release_barrier(L);
}

[[noreturn]] void deadlock(Launch& L) {
  std::string what;
  int at_barrier = 0;
  for (const Thread& t : L.threads) at_barrier += t.state == State::kAtBarrier;
  what += std::to_string(at_barrier) + " threads at __syncthreads";
  for (size_t w = 0; w < L.warps.size(); ++w) {
    if (L.warps[w].waiting) {
      what += "; warp " + std::to_string(w) + " lanes " + lanes(L.warps[w].waiting) +
              " in a collective with mask " +
              lanes(L.warps[w].wait_mask[__builtin_ctz(L.warps[w].waiting)]);
    }
  }
  fail("deadlock: no thread can go on (%s)", what.c_str());
}

void run_block(Launch& L) {
  const dim3 bd = L.cfg.block;
  L.live = L.nthreads;
  L.at_barrier = 0;
  L.statics.clear();
  L.static_used = 0;
  for (size_t w = 0; w < L.warps.size(); ++w) {
    Warp& warp = L.warps[w];
    warp = Warp{};
    const int first = int(w) * kWarp, n = std::min(kWarp, L.nthreads - first);
    warp.existing = n == kWarp ? 0xffffffffu : (1u << n) - 1u;
  }
  const unsigned long long block_seed =
      L.seed * 0x9E3779B97F4A7C15ull + (L.block.x + 65536ull * (L.block.y + 65536ull * L.block.z));
  fill_garbage(L.dyn, L.smem, block_seed);
  const size_t slack = g_dyn->guard - (L.dyn + L.smem);
  memset(L.dyn + L.smem, 0xA5, slack);

  for (int i = 0; i < L.nthreads; ++i) {
    Thread& t = L.threads[i];
    t.linear = i;
    t.state = State::kRunnable;
    t.view.thread_idx = uint3{unsigned(i) % bd.x, unsigned(i) / bd.x % bd.y,
                              unsigned(i) / (bd.x * bd.y)};
    t.view.block_idx = L.block;
    t.view.block_dim = bd;
    t.view.grid_dim = L.cfg.grid;
    t.view.lane = unsigned(i) % kWarp;
    t.self = ctx::fiber(std::allocator_arg, PoolStack{g_stacks->top(i)},
                        [&t](ctx::fiber&& sched) {
                          t.sched = std::move(sched);
                          g_launch->body(g_launch->ctx);
                          finish(t);
                          return std::move(t.sched);
                        });
  }
  // Warp by warp: a warp's threads run (in lane order) until none of them can go on -- all at
  // __syncthreads, done, or in a collective waiting for a lane that is -- before the next warp
  // starts. One warp so runs as far ahead of the others as the block barriers allow, and a
  // missing __syncthreads shows as a read of shared memory another warp has not written yet or
  // has already overwritten (round robin over all threads keeps the warps in lockstep between
  // their warp collectives, which hides that).
  const int nwarps = (L.nthreads + kWarp - 1) / kWarp;
  while (L.live > 0) {
    bool ran = false;
    for (int wk = 0; wk < nwarps; ++wk) {
      const int first = (g_descending ? nwarps - 1 - wk : wk) * kWarp;
      const int n = std::min(kWarp, L.nthreads - first);
      for (bool progress = true; progress;) {
        progress = false;
        for (int k = 0; k < n; ++k) {
          Thread& t = L.threads[first + (g_descending ? n - 1 - k : k)];
          if (t.state != State::kRunnable) continue;
          progress = ran = true;
          g_thread = &t;
          tl_current = &t.view;
          t.self = std::move(t.self).resume();
        }
      }
    }
    if (!ran) {
      g_thread = nullptr;
      tl_current = nullptr;
      deadlock(L);
    }
  }
  g_thread = nullptr;
  tl_current = nullptr;
  for (size_t i = 0; i < slack; ++i) {
    if (L.dyn[L.smem + i] != 0xA5) {
      fail("kernel wrote dynamic shared memory at byte %zu, past the %zu bytes its launch "
           "requested",
           L.smem + i, L.smem);
    }
  }
}

bool bad_config(const LaunchConfig& c) {
  const unsigned b[3] = {c.block.x, c.block.y, c.block.z};
  const unsigned g[3] = {c.grid.x, c.grid.y, c.grid.z};
  for (int i = 0; i < 3; ++i) {
    if (b[i] == 0 || b[i] > unsigned(kMaxBlockDim[i]) || g[i] == 0 || g[i] > kMaxGridDim[i]) {
      return true;
    }
  }
  return size_t(b[0]) * b[1] * b[2] > size_t(kMaxThreadsPerBlock);
}

}  // namespace

void fail(const char* format, ...) {
  char msg[1024];
  va_list args;
  va_start(args, format);
  vsnprintf(msg, sizeof msg, format, args);
  va_end(args);
  if (g_launch && g_thread) {
    const ThreadView& v = g_thread->view;
    fprintf(stderr,
            "merino_emu: %s (kernel %s, block (%u,%u,%u), thread (%u,%u,%u))\n", msg,
            g_launch->name, v.block_idx.x, v.block_idx.y, v.block_idx.z, v.thread_idx.x,
            v.thread_idx.y, v.thread_idx.z);
  } else if (g_launch) {
    fprintf(stderr, "merino_emu: %s (kernel %s, block (%u,%u,%u))\n", msg, g_launch->name,
            g_launch->block.x, g_launch->block.y, g_launch->block.z);
  } else {
    fprintf(stderr, "merino_emu: %s\n", msg);
  }
  fflush(stderr);
  abort();
}

void launch_impl(const void* func, const char* name, const LaunchConfig& cfg,
                 void (*body)(void*), void* ctx) {
  if (g_launch) fail("kernel %s launched from device code (not emulated)", name);
  init_once();
  if (bad_config(cfg)) {
    set_last_error(cudaErrorInvalidConfiguration);
    return;
  }
  const auto it = g_max_dynamic.find(func);
  const size_t allowed = it == g_max_dynamic.end() ? kSharedPerBlock : it->second;
  if (cfg.smem > allowed) {
    set_last_error(cudaErrorInvalidValue);
    return;
  }
  Launch L;
  L.name = name;
  L.cfg = cfg;
  L.body = body;
  L.ctx = ctx;
  L.smem = cfg.smem;
  L.dyn = g_dyn->guard - (cfg.smem + 127) / 128 * 128;
  L.nthreads = int(cfg.block.x * cfg.block.y * cfg.block.z);
  L.threads.resize(L.nthreads);
  L.warps.resize((L.nthreads + kWarp - 1) / kWarp);
  L.seed = ++g_launch_count;
  g_launch = &L;
  for (unsigned z = 0; z < cfg.grid.z; ++z)
    for (unsigned y = 0; y < cfg.grid.y; ++y)
      for (unsigned x = 0; x < cfg.grid.x; ++x) {
        L.block = uint3{x, y, z};
        run_block(L);
      }
  g_launch = nullptr;
}

void syncthreads() {
  Thread& t = *g_thread;
  Launch& L = *g_launch;
  const Warp& warp = L.warps[t.linear / kWarp];
  for (uint32_t m = warp.waiting; m; m &= m - 1) {
    const int l = __builtin_ctz(m);
    if (warp.wait_mask[l] >> (t.linear % kWarp) & 1u) {
      fail("__syncthreads while lane %d waits for this thread in a warp collective (mask %s)", l,
           lanes(warp.wait_mask[l]).c_str());
    }
  }
  ++L.at_barrier;
  if (L.at_barrier == L.live) {
    release_barrier(L);
    return;
  }
  t.state = State::kAtBarrier;
  yield(t);
}

void warp_collective_impl(unsigned mask, void* mine, void (*combine)(void* const*, void*),
                          void* cctx) {
  Thread& t = *g_thread;
  Launch& L = *g_launch;
  const int w = t.linear / kWarp, lane = t.linear % kWarp;
  Warp& warp = L.warps[w];
  const uint32_t bit = 1u << lane;
  if (!(mask & bit)) fail("warp collective with mask %s called by lane %d outside it",
                          lanes(mask).c_str(), lane);
  if (mask & ~warp.existing) {
    fail("warp collective mask %s names lanes %s that the block (%d threads) does not have",
         lanes(mask).c_str(), lanes(mask & ~warp.existing).c_str(), L.nthreads);
  }
  if (mask & warp.exited) {
    fail("warp collective mask %s names lanes %s that have exited", lanes(mask).c_str(),
         lanes(mask & warp.exited).c_str());
  }
  for (uint32_t m = warp.waiting; m; m &= m - 1) {
    const int l = __builtin_ctz(m);
    const bool inside = mask >> l & 1u;
    if (inside ? warp.wait_mask[l] != mask : (warp.wait_mask[l] & mask) != 0) {
      fail("lane %d enters a warp collective with mask %s while lane %d waits in one with "
           "mask %s",
           lane, lanes(mask).c_str(), l, lanes(warp.wait_mask[l]).c_str());
    }
  }
  warp.slot[lane] = mine;
  warp.wait_mask[lane] = mask;
  warp.waiting |= bit;
  if ((warp.waiting & mask) != mask) {
    t.state = State::kInCollective;
    yield(t);
    return;
  }
  void* all[kWarp];
  for (int l = 0; l < kWarp; ++l) all[l] = (mask >> l & 1u) ? warp.slot[l] : nullptr;
  combine(all, cctx);
  warp.waiting &= ~mask;
  for (uint32_t m = mask & ~bit; m; m &= m - 1) {
    L.threads[w * kWarp + __builtin_ctz(m)].state = State::kRunnable;
  }
}

void* dynamic_shared_impl() { return g_launch->dyn; }

void* static_shared_impl(const void* key, size_t bytes) {
  Launch& L = *g_launch;
  for (const auto& s : L.statics)
    if (s.first == key) return g_static_arena + s.second;
  const size_t offset = (L.static_used + 127) / 128 * 128;  // any __align__ the source asked for
  if (offset + bytes > kSharedPerBlock) {
    fail("static shared memory above the 48 KiB a block may declare");
  }
  if (offset + bytes + L.smem > kSharedPerBlockOptin) {
    fail("static (%zu bytes) plus dynamic (%zu bytes) shared memory above the device's %zu",
         offset + bytes, L.smem, kSharedPerBlockOptin);
  }
  L.static_used = offset + bytes;
  L.statics.emplace_back(key, offset);
  fill_garbage(g_static_arena + offset, bytes, L.seed + offset);
  return g_static_arena + offset;
}

void set_last_error(cudaError_t err) {
  if (g_last_error == cudaSuccess) g_last_error = err;
}

cudaError_t peek_last_error() { return g_last_error; }

cudaError_t take_last_error() {
  const cudaError_t e = g_last_error;
  g_last_error = cudaSuccess;
  return e;
}

void set_max_dynamic_shared(const void* func, size_t bytes) { g_max_dynamic[func] = bytes; }

void fill_garbage(void* p, size_t bytes, unsigned long long seed) {
  unsigned long long x = seed * 0x2545F4914F6CDD1Dull + 0x9E3779B97F4A7C15ull;
  auto* out = static_cast<unsigned char*>(p);
  for (size_t i = 0; i < bytes; i += 8) {
    x ^= x >> 12;  // xorshift64*
    x ^= x << 25;
    x ^= x >> 27;
    const unsigned long long v = x * 0x2545F4914F6CDD1Dull;
    memcpy(out + i, &v, std::min<size_t>(8, bytes - i));
  }
}

}  // namespace merino_emu
