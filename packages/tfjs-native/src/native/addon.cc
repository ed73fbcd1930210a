// Native float32 kernels for TensorFlow.js. Plain N-API (no C++ wrapper dependency). Every
// function writes only into the output array it is given; inputs are owned by the tfjs backend
// and are never written. Matrix products run on the built-in GEMM (gemm.h) or, when the build
// found OpenBLAS's headers, on the system OpenBLAS (cblas_sgemm), chosen at run time (setGemm).
// Parallelism: the GEMM runs single-threaded and this file splits work over its own small pool
// whose idle workers block on a condition variable (no spinning: on 2 cores spinning threads
// starve the JS thread and V8's GC).
#include <node_api.h>
// VZERO_NO_OPENBLAS: built without OpenBLAS (scripts/blas-flags.mjs defines it when cblas.h is
// missing or VZERO_NATIVE_NO_OPENBLAS=1); every kernel still builds, on the built-in GEMM.
#ifndef VZERO_NO_OPENBLAS
#include <cblas.h>
#define VZERO_HAVE_OPENBLAS 1
#else
#define VZERO_HAVE_OPENBLAS 0
#endif

#include "gemm.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <limits>
#include <mutex>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

// The elementwise kernels' hot loops are compiled for several x86-64 levels and picked at load
// time by the CPU (GCC/Clang function multi-versioning), so one build runs everywhere and uses
// AVX2 or AVX-512 where the machine has them. Results do not depend on the level: the loops'
// operation order is fixed in the source and -ffp-contract=off forbids fused multiply-adds.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(VZERO_NO_CLONES)
#define VZERO_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define VZERO_CLONES
#endif

namespace {

// ---------------------------------------------------------------- eight-lane values
// Eight float (or double) lanes as one value (GCC/Clang vector extensions): 256/512-bit registers
// where the target has them, 128-bit pieces on baseline x86-64. Sums over lanes are combined in a
// fixed order, so results do not depend on the instruction set. aligned(4): no alignment needed.
typedef float F8 __attribute__((vector_size(32), aligned(4)));
typedef int32_t I8 __attribute__((vector_size(32), aligned(4)));
typedef double D8 __attribute__((vector_size(64), aligned(8)));

inline F8 Load8(const float* p) {
  F8 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void Store8(float* p, F8 v) { std::memcpy(p, &v, sizeof v); }
inline D8 LoadD8(const float* p) { return __builtin_convertvector(Load8(p), D8); }
inline double SumLanes(D8 v) {
  double s = 0;
  for (int k = 0; k < 8; ++k) s += v[k];
  return s;
}

// ---------------------------------------------------------------- thread pool (passive waits)
// Work is cut into chunks that the caller and the workers claim from a shared counter. On a
// loaded machine a woken worker may not run for a whole scheduler time slice; the caller then
// claims the remaining chunks itself instead of waiting, so a job is never slower than running
// it on the calling thread alone (plus the chunks a worker had already started).
class Pool {
 public:
  ~Pool() { Resize(1); }
  int Size() const { return static_cast<int>(workers_.size()) + 1; }

  void Resize(int threads) {
    threads = std::max(1, std::min(threads, 64));
    if (threads == Size()) return;
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
      ++generation_;
    }
    cv_.notify_all();
    for (auto& t : workers_) t.join();
    workers_.clear();
    stop_ = false;
    for (int i = 1; i < threads; ++i) workers_.emplace_back([this] { Loop(); });
  }

  // Runs fn(chunk) for every chunk in [0, chunks), on the caller and the workers.
  void Run(int chunks, const std::function<void(int)>& fn) {
    if (chunks <= 1 || Size() <= 1) {
      for (int c = 0; c < chunks; ++c) fn(c);
      return;
    }
    auto job = std::make_shared<Job>();
    job->fn = &fn;
    job->chunks = chunks;
    {
      std::lock_guard<std::mutex> lock(mu_);
      job_ = job;
      ++generation_;
    }
    cv_.notify_all();
    Work(*job);
    std::unique_lock<std::mutex> lock(mu_);
    done_cv_.wait(lock, [&] { return job->done.load() == chunks; });
    job_.reset();
  }

 private:
  struct Job {
    const std::function<void(int)>* fn = nullptr;
    int chunks = 0;
    std::atomic<int> next{0};
    std::atomic<int> done{0};
  };

  // Claims and runs chunks until none are left. A worker that wakes after the job is over finds
  // next >= chunks and touches nothing else (it holds its own reference to the job's counters).
  void Work(Job& job) {
    for (;;) {
      const int c = job.next.fetch_add(1);
      if (c >= job.chunks) return;
      (*job.fn)(c);
      if (job.done.fetch_add(1) + 1 == job.chunks) {
        std::lock_guard<std::mutex> lock(mu_);
        done_cv_.notify_all();
      }
    }
  }

  void Loop() {
    uint64_t seen = 0;
    for (;;) {
      std::shared_ptr<Job> job;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return stop_ || generation_ != seen; });
        if (stop_) return;
        seen = generation_;
        job = job_;
      }
      if (job) Work(*job);
    }
  }

  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable cv_, done_cv_;
  std::shared_ptr<Job> job_;
  uint64_t generation_ = 0;
  bool stop_ = false;
};

Pool& ThePool() {
  static Pool pool;
  return pool;
}

// Chunks for a job of `units` independent pieces on `parts` threads: a few per thread, so a
// thread that gets descheduled holds up little of the work.
inline int ChunksFor(int parts, int64_t units) {
  return parts <= 1 ? 1 : static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(units, parts * 4)));
}

// Splits [0, n) into `parts` contiguous ranges; returns range `p`.
inline void Range(int64_t n, int parts, int p, int64_t* begin, int64_t* end) {
  const int64_t base = n / parts, extra = n % parts;
  *begin = p * base + std::min<int64_t>(p, extra);
  *end = *begin + base + (p < extra ? 1 : 0);
}

// Below this much work per part, waking a pool thread costs more than it saves: a wake-up takes
// tens of microseconds on an idle machine and up to a scheduler time slice on a loaded one.
// Units: elements touched (copies, reductions, softmax) or, for matmul, multiply-adds.
constexpr int64_t kParallelMinWork = 1 << 18;
constexpr int64_t kParallelMinMadds = 1 << 22;

int PartsFor(int64_t work, int64_t min_work = kParallelMinWork) {
  const int size = ThePool().Size();
  if (size <= 1 || work < 2 * min_work) return 1;
  return static_cast<int>(std::min<int64_t>(size, work / min_work));
}

// Runs run(begin, end) over [0, units): on the calling thread when `parts` is 1 (small jobs),
// otherwise in chunks that the pool's threads and the caller claim.
template <typename F>
void RunChunked(int64_t units, int parts, const F& run) {
  if (parts <= 1) {
    run(0, units);
    return;
  }
  const int chunks = ChunksFor(parts, units);
  ThePool().Run(chunks, [&](int p) {
    int64_t begin, end;
    Range(units, chunks, p, &begin, &end);
    run(begin, end);
  });
}

// ---------------------------------------------------------------- N-API helpers
struct F32 {
  float* data = nullptr;
  size_t length = 0;
};

bool Throw(napi_env env, const std::string& message) {
  napi_throw_type_error(env, nullptr, message.c_str());
  return false;
}

bool GetF32(napi_env env, napi_value v, const char* name, F32* out, bool nullable = false) {
  napi_valuetype type;
  napi_typeof(env, v, &type);
  if (nullable && (type == napi_null || type == napi_undefined)) return true;
  bool is_typed = false;
  napi_is_typedarray(env, v, &is_typed);
  if (!is_typed) return Throw(env, std::string(name) + " must be a Float32Array");
  napi_typedarray_type t;
  void* data;
  napi_value ab;
  size_t offset;
  napi_get_typedarray_info(env, v, &t, &out->length, &data, &ab, &offset);
  if (t != napi_float32_array) return Throw(env, std::string(name) + " must be a Float32Array");
  out->data = static_cast<float*>(data);
  return true;
}

bool GetI32Array(napi_env env, napi_value v, const char* name, std::vector<int32_t>* out,
                 bool nullable = false) {
  napi_valuetype type;
  napi_typeof(env, v, &type);
  if (nullable && (type == napi_null || type == napi_undefined)) return true;
  bool is_typed = false;
  napi_is_typedarray(env, v, &is_typed);
  napi_typedarray_type t = napi_float32_array;
  size_t length = 0;
  void* data = nullptr;
  if (is_typed) napi_get_typedarray_info(env, v, &t, &length, &data, nullptr, nullptr);
  if (!is_typed || t != napi_int32_array) return Throw(env, std::string(name) + " must be an Int32Array");
  auto* p = static_cast<int32_t*>(data);
  out->assign(p, p + length);
  return true;
}

// A view of an Int32Array (no copy): for index inputs that live in a backend's memory.
struct I32 {
  const int32_t* data = nullptr;
  size_t length = 0;
};

bool GetI32View(napi_env env, napi_value v, const char* name, I32* out) {
  bool is_typed = false;
  napi_is_typedarray(env, v, &is_typed);
  napi_typedarray_type t = napi_float32_array;
  void* data = nullptr;
  if (is_typed) napi_get_typedarray_info(env, v, &t, &out->length, &data, nullptr, nullptr);
  if (!is_typed || t != napi_int32_array) return Throw(env, std::string(name) + " must be an Int32Array");
  out->data = static_cast<const int32_t*>(data);
  return true;
}

// A JS array of Float32Arrays (the outputs of a split, the inputs of a concat).
bool GetF32List(napi_env env, napi_value v, const char* name, std::vector<F32>* out) {
  bool is_array = false;
  napi_is_array(env, v, &is_array);
  if (!is_array) return Throw(env, std::string(name) + " must be an array of Float32Arrays");
  uint32_t n = 0;
  napi_get_array_length(env, v, &n);
  out->resize(n);
  for (uint32_t i = 0; i < n; ++i) {
    napi_value e;
    napi_get_element(env, v, i, &e);
    if (!GetF32(env, e, name, &(*out)[i])) return false;
  }
  return true;
}

bool GetInt(napi_env env, napi_value v, const char* name, int64_t* out) {
  if (napi_get_value_int64(env, v, out) != napi_ok) return Throw(env, std::string(name) + " must be a number");
  return true;
}

bool GetDouble(napi_env env, napi_value v, const char* name, double* out) {
  if (napi_get_value_double(env, v, out) != napi_ok) return Throw(env, std::string(name) + " must be a number");
  return true;
}

bool GetBool(napi_env env, napi_value v, const char* name, bool* out) {
  if (napi_get_value_bool(env, v, out) != napi_ok) return Throw(env, std::string(name) + " must be a boolean");
  return true;
}

template <size_t N>
bool Args(napi_env env, napi_callback_info info, napi_value (&argv)[N]) {
  size_t argc = N;
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  if (argc < N) return Throw(env, "expected " + std::to_string(N) + " arguments");
  return true;
}

napi_value Undefined(napi_env env) {
  napi_value u;
  napi_get_undefined(env, &u);
  return u;
}

// The row kernels' common arguments: N float arrays of rows x cols each (argv[0..N)), then rows
// and cols. Throws naming `who` when the sizes do not match.
template <size_t N>
bool GetRowArrays(napi_env env, const napi_value* argv, const char* const (&names)[N], F32* const (&arrays)[N],
                  int64_t* rows, int64_t* cols, const char* who) {
  for (size_t i = 0; i < N; ++i)
    if (!GetF32(env, argv[i], names[i], arrays[i])) return false;
  if (!GetInt(env, argv[N], "rows", rows) || !GetInt(env, argv[N + 1], "cols", cols)) return false;
  bool ok = *rows >= 0 && *cols >= 1;
  for (size_t i = 0; ok && i < N; ++i) ok = static_cast<int64_t>(arrays[i]->length) == *rows * *cols;
  if (!ok) Throw(env, std::string(who) + ": array lengths do not match rows x cols");
  return ok;
}

// ---------------------------------------------------------------- info / threads
// Which build of the VZERO_CLONES loops this CPU runs (the resolver picks the same way).
const char* VectorLevel() {
#if defined(__x86_64__) && defined(__GNUC__) && !defined(VZERO_NO_CLONES)
  if (__builtin_cpu_supports("x86-64-v4")) return "x86-64-v4 (AVX-512)";
  if (__builtin_cpu_supports("x86-64-v3")) return "x86-64-v3 (AVX2)";
  return "x86-64 baseline";
#else
  return "portable";
#endif
}

// ---------------------------------------------------------------- GEMM choice
// Which GEMM the matrix products run: the built-in one, or OpenBLAS when this build has it (the
// default then). Set from JavaScript before kernels run (setGemm), read on every product.
std::atomic<bool> g_use_openblas{VZERO_HAVE_OPENBLAS != 0};

// Row-major C (ldc) = op(A) (lda) op(B) (ldb), m x n, depth k >= 1, on the chosen GEMM.
inline void Sgemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b,
                  int64_t ldb, float* c, int64_t ldc) {
#if VZERO_HAVE_OPENBLAS
  if (g_use_openblas.load(std::memory_order_relaxed)) {
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, static_cast<int>(m),
                static_cast<int>(n), static_cast<int>(k), 1.f, a, static_cast<int>(lda), b, static_cast<int>(ldb), 0.f,
                c, static_cast<int>(ldc));
    return;
  }
#endif
  vzero_gemm::Sgemm(ta, tb, m, n, k, a, lda, b, ldb, c, ldc);
}

napi_value Info(napi_env env, napi_callback_info) {
  napi_value obj, v;
  napi_create_object(env, &obj);
  napi_get_boolean(env, VZERO_HAVE_OPENBLAS != 0, &v);
  napi_set_named_property(env, obj, "openblas", v);
  napi_create_string_utf8(env, g_use_openblas.load() ? "openblas" : "builtin", NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, obj, "gemm", v);
  napi_create_string_utf8(env, vzero_gemm::TheLevel().name, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, obj, "builtinGemm", v);
#if VZERO_HAVE_OPENBLAS
  const char* core = openblas_get_corename();
  napi_create_string_utf8(env, core ? core : "unknown", NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, obj, "corename", v);
  const char* config = openblas_get_config();
  napi_create_string_utf8(env, config ? config : "unknown", NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, obj, "config", v);
  napi_create_int32(env, openblas_get_num_threads(), &v);
  napi_set_named_property(env, obj, "blasThreads", v);
#endif
  napi_create_int32(env, ThePool().Size(), &v);
  napi_set_named_property(env, obj, "threads", v);
  napi_create_int32(env, static_cast<int32_t>(std::thread::hardware_concurrency()), &v);
  napi_set_named_property(env, obj, "hardwareThreads", v);
  napi_create_string_utf8(env, VectorLevel(), NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, obj, "vectorLevel", v);
  return obj;
}

napi_value SetThreads(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!Args(env, info, argv)) return nullptr;
  int64_t n;
  if (!GetInt(env, argv[0], "threads", &n)) return nullptr;
  if (n < 1 || n > 64) {
    Throw(env, "threads must be in [1, 64]");
    return nullptr;
  }
  // OpenBLAS itself stays single-threaded; the pool parallelises over batch items and rows.
#if VZERO_HAVE_OPENBLAS
  openblas_set_num_threads(1);
#endif
  ThePool().Resize(static_cast<int>(n));
  return Undefined(env);
}

// setGemm("builtin" | "openblas"): the GEMM of every later product. "openblas" in a build
// without it throws.
napi_value SetGemm(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!Args(env, info, argv)) return nullptr;
  char name[16] = {0};
  size_t len = 0;
  if (napi_get_value_string_utf8(env, argv[0], name, sizeof name, &len) != napi_ok) {
    Throw(env, "setGemm: gemm must be a string");
    return nullptr;
  }
  const std::string which(name, len);
  if (which == "builtin") {
    g_use_openblas.store(false);
  } else if (which == "openblas" && VZERO_HAVE_OPENBLAS) {
    g_use_openblas.store(true);
  } else {
    Throw(env, which == "openblas" ? "setGemm: this addon was built without OpenBLAS"
                                   : "setGemm: gemm must be \"builtin\" or \"openblas\"");
    return nullptr;
  }
  return Undefined(env);
}

// ---------------------------------------------------------------- matmul
enum Activation { kLinear = 0, kRelu = 1, kRelu6 = 2, kElu = 3, kSigmoid = 4, kLeakyRelu = 5, kPrelu = 6 };

struct Epilogue {
  const float* bias = nullptr;
  int64_t bias_len = 0;  // 1 (scalar) or n (per column)
  int act = kLinear;
  float alpha = 0;
  const float* prelu = nullptr;
  int64_t prelu_len = 0;  // 1 or n
};

inline void ApplyEpilogue(float* row, int64_t n, const Epilogue& e) {
  if (e.bias) {
    if (e.bias_len == 1) {
      const float b = e.bias[0];
      for (int64_t j = 0; j < n; ++j) row[j] += b;
    } else {
      for (int64_t j = 0; j < n; ++j) row[j] += e.bias[j];
    }
  }
  switch (e.act) {
    case kLinear:
      break;
    case kRelu:
      for (int64_t j = 0; j < n; ++j) row[j] = row[j] < 0 ? 0 : row[j];
      break;
    case kRelu6:
      for (int64_t j = 0; j < n; ++j) row[j] = std::min(6.f, std::max(0.f, row[j]));
      break;
    case kElu:
      for (int64_t j = 0; j < n; ++j) row[j] = row[j] >= 0 ? row[j] : std::expm1(row[j]);
      break;
    case kSigmoid:
      for (int64_t j = 0; j < n; ++j) row[j] = 1.f / (1.f + std::exp(-row[j]));
      break;
    case kLeakyRelu:
      for (int64_t j = 0; j < n; ++j) row[j] = row[j] < 0 ? e.alpha * row[j] : row[j];
      break;
    case kPrelu:
      for (int64_t j = 0; j < n; ++j) {
        const float w = e.prelu_len == 1 ? e.prelu[0] : e.prelu[j];
        row[j] = row[j] < 0 ? w * row[j] : row[j];
      }
      break;
  }
}

// One GEMM block: rows [r0, r1) and columns [c0, c1) of C = op(A) op(B).
void GemmBlock(const float* A, const float* B, float* C, int64_t m, int64_t n, int64_t k, bool ta, bool tb,
               int64_t r0, int64_t r1, int64_t c0, int64_t c1, const Epilogue& e) {
  if (r1 <= r0 || c1 <= c0) return;
  const int64_t lda = ta ? m : k, ldb = tb ? k : n;
  const float* a = ta ? A + r0 : A + r0 * lda;
  const float* b = tb ? B + c0 * ldb : B + c0;
  float* c = C + r0 * n + c0;
  if (k == 0) {
    for (int64_t i = r0; i < r1; ++i) std::fill(C + i * n + c0, C + i * n + c1, 0.f);
  } else {
    Sgemm(ta, tb, r1 - r0, c1 - c0, k, a, lda, b, ldb, c, n);
  }
  if (e.bias || e.act != kLinear) {
    Epilogue shifted = e;
    if (shifted.bias && shifted.bias_len > 1) shifted.bias += c0;
    if (shifted.prelu && shifted.prelu_len > 1) shifted.prelu += c0;
    for (int64_t i = r0; i < r1; ++i) ApplyEpilogue(C + i * n + c0, c1 - c0, shifted);
  }
}

// matmul(a, b, out, batch, m, n, k, transA, transB, aIndex, bIndex, aBatches, bBatches,
//        bias|null, activation, alpha, prelu|null)
// aIndex/bIndex (Int32Array of length batch) give, for each output matrix, the matrix of a and
// of b it multiplies: general batch broadcasting is resolved by the caller.
napi_value Matmul(napi_env env, napi_callback_info info) {
  napi_value argv[17];
  if (!Args(env, info, argv)) return nullptr;
  F32 a, b, out, bias, prelu;
  int64_t batch, m, n, k, a_batches, b_batches, act;
  bool ta, tb;
  double alpha;
  std::vector<int32_t> a_index, b_index;
  if (!GetF32(env, argv[0], "a", &a) || !GetF32(env, argv[1], "b", &b) || !GetF32(env, argv[2], "out", &out) ||
      !GetInt(env, argv[3], "batch", &batch) || !GetInt(env, argv[4], "m", &m) || !GetInt(env, argv[5], "n", &n) ||
      !GetInt(env, argv[6], "k", &k) || !GetBool(env, argv[7], "transA", &ta) ||
      !GetBool(env, argv[8], "transB", &tb) || !GetI32Array(env, argv[9], "aIndex", &a_index) ||
      !GetI32Array(env, argv[10], "bIndex", &b_index) || !GetInt(env, argv[11], "aBatches", &a_batches) ||
      !GetInt(env, argv[12], "bBatches", &b_batches) || !GetF32(env, argv[13], "bias", &bias, true) ||
      !GetInt(env, argv[14], "activation", &act) || !GetDouble(env, argv[15], "alpha", &alpha) ||
      !GetF32(env, argv[16], "prelu", &prelu, true))
    return nullptr;
  if (batch < 0 || m < 0 || n < 0 || k < 0 || a_batches < 1 || b_batches < 1 || m > INT32_MAX ||
      n > INT32_MAX || k > INT32_MAX) {
    Throw(env, "matmul: bad dimensions");
    return nullptr;
  }
  if (static_cast<int64_t>(a.length) != a_batches * m * k || static_cast<int64_t>(b.length) != b_batches * k * n ||
      static_cast<int64_t>(out.length) != batch * m * n || static_cast<int64_t>(a_index.size()) != batch ||
      static_cast<int64_t>(b_index.size()) != batch) {
    Throw(env, "matmul: array lengths do not match the dimensions");
    return nullptr;
  }
  for (int64_t i = 0; i < batch; ++i) {
    if (a_index[i] < 0 || a_index[i] >= a_batches || b_index[i] < 0 || b_index[i] >= b_batches) {
      Throw(env, "matmul: batch index out of range");
      return nullptr;
    }
  }
  if (act < kLinear || act > kPrelu) {
    Throw(env, "matmul: unknown activation");
    return nullptr;
  }
  Epilogue e;
  e.act = static_cast<int>(act);
  e.alpha = static_cast<float>(alpha);
  if (bias.data) {
    if (bias.length != 1 && static_cast<int64_t>(bias.length) != n) {
      Throw(env, "matmul: bias must have 1 or n elements");
      return nullptr;
    }
    e.bias = bias.data;
    e.bias_len = static_cast<int64_t>(bias.length);
  }
  if (e.act == kPrelu) {
    if (!prelu.data || (prelu.length != 1 && static_cast<int64_t>(prelu.length) != n)) {
      Throw(env, "matmul: prelu weights must have 1 or n elements");
      return nullptr;
    }
    e.prelu = prelu.data;
    e.prelu_len = static_cast<int64_t>(prelu.length);
  }
  if (batch == 0 || m == 0 || n == 0) return Undefined(env);

  auto matrix = [&](int64_t i, int64_t r0, int64_t r1, int64_t c0, int64_t c1) {
    GemmBlock(a.data + a_index[i] * m * k, b.data + b_index[i] * k * n, out.data + i * m * n, m, n, k, ta, tb, r0,
              r1, c0, c1, e);
  };
  const int parts = PartsFor(batch * m * n * std::max<int64_t>(k, 1), kParallelMinMadds);
  if (parts <= 1) {
    for (int64_t i = 0; i < batch; ++i) matrix(i, 0, m, 0, n);
  } else if (batch >= parts) {
    // Many small GEMMs (attention): one single-threaded GEMM per item, items spread over threads.
    const int chunks = ChunksFor(parts, batch);
    ThePool().Run(chunks, [&](int p) {
      int64_t b0, b1;
      Range(batch, chunks, p, &b0, &b1);
      for (int64_t i = b0; i < b1; ++i) matrix(i, 0, m, 0, n);
    });
  } else {
    // Few large GEMMs: split each by rows (or by columns when there are few rows).
    const bool by_rows = m >= n || m >= 4 * parts;
    for (int64_t i = 0; i < batch; ++i) {
      const int chunks = ChunksFor(parts, std::min<int64_t>(by_rows ? m : n, parts * 2));
      ThePool().Run(chunks, [&](int p) {
        int64_t s0, s1;
        Range(by_rows ? m : n, chunks, p, &s0, &s1);
        if (by_rows)
          matrix(i, s0, s1, 0, n);
        else
          matrix(i, 0, m, s0, s1);
      });
    }
  }
  return Undefined(env);
}

// ---------------------------------------------------------------- transpose
// transpose(x, out, shape: Int32Array, perm: Int32Array)
napi_value Transpose(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (!Args(env, info, argv)) return nullptr;
  F32 x, out;
  std::vector<int32_t> shape, perm;
  if (!GetF32(env, argv[0], "x", &x) || !GetF32(env, argv[1], "out", &out) ||
      !GetI32Array(env, argv[2], "shape", &shape) || !GetI32Array(env, argv[3], "perm", &perm))
    return nullptr;
  const size_t rank = shape.size();
  if (perm.size() != rank) {
    Throw(env, "transpose: perm length must equal rank");
    return nullptr;
  }
  int64_t size = 1;
  std::vector<bool> seen(rank, false);
  for (size_t d = 0; d < rank; ++d) {
    if (shape[d] < 0 || perm[d] < 0 || static_cast<size_t>(perm[d]) >= rank || seen[perm[d]]) {
      Throw(env, "transpose: bad shape or perm");
      return nullptr;
    }
    seen[perm[d]] = true;
    size *= shape[d];
  }
  if (static_cast<int64_t>(x.length) != size || static_cast<int64_t>(out.length) != size) {
    Throw(env, "transpose: array lengths do not match the shape");
    return nullptr;
  }
  if (size == 0) return Undefined(env);
  // Drop size-1 dims, then merge input dims that stay adjacent and in order in the output.
  std::vector<int64_t> in_strides(rank);
  {
    int64_t s = 1;
    for (size_t d = rank; d-- > 0;) {
      in_strides[d] = s;
      s *= shape[d];
    }
  }
  std::vector<int64_t> dims, strides;  // output dims with their input strides
  for (size_t d = 0; d < rank; ++d) {
    const int p = perm[d];
    if (shape[p] == 1) continue;
    if (!dims.empty() && strides.back() == in_strides[p] * shape[p]) {
      dims.back() *= shape[p];
      strides.back() = in_strides[p];
    } else {
      dims.push_back(shape[p]);
      strides.push_back(in_strides[p]);
    }
  }
  if (dims.empty() || (dims.size() == 1 && strides[0] == 1)) {
    std::memcpy(out.data, x.data, size * sizeof(float));
    return Undefined(env);
  }
  const size_t r = dims.size();
  const int64_t inner = dims[r - 1], inner_stride = strides[r - 1];
  const int64_t rows = size / inner;
  // A 2-D tile transpose when the last two output dims swap strides (the usual [.., a, b] ->
  // [.., b, a]): cache-friendlier than a strided gather.
  const bool tile = r >= 2 && strides[r - 2] == 1 && inner_stride == dims[r - 2];
  auto run = [&](int64_t row0, int64_t row1) {
    if (tile) {
      const int64_t R = dims[r - 2], C = inner;  // out block is R x C; input block is C x R
      const int64_t blocks0 = row0 / R, blocks1 = (row1 + R - 1) / R;
      for (int64_t blk = blocks0; blk < blocks1; ++blk) {
        // Input offset of this block from the outer dims.
        int64_t rem = blk, off = 0;
        for (size_t d = r - 2; d-- > 0;) {
          off += (rem % dims[d]) * strides[d];
          rem /= dims[d];
        }
        const float* src = x.data + off;
        float* dst = out.data + blk * R * C;
        const int64_t i0 = std::max<int64_t>(row0 - blk * R, 0), i1 = std::min<int64_t>(row1 - blk * R, R);
        constexpr int64_t T = 32;
        for (int64_t ib = i0; ib < i1; ib += T)
          for (int64_t jb = 0; jb < C; jb += T)
            for (int64_t i = ib; i < std::min(ib + T, i1); ++i)
              for (int64_t j = jb; j < std::min(jb + T, C); ++j) dst[i * C + j] = src[j * R + i];
      }
      return;
    }
    std::vector<int64_t> idx(r - 1, 0);
    int64_t rem = row0;
    for (size_t d = r - 1; d-- > 0;) {
      idx[d] = rem % dims[d];
      rem /= dims[d];
    }
    for (int64_t row = row0; row < row1; ++row) {
      int64_t off = 0;
      for (size_t d = 0; d + 1 < r; ++d) off += idx[d] * strides[d];
      const float* src = x.data + off;
      float* dst = out.data + row * inner;
      if (inner_stride == 1) {
        std::memcpy(dst, src, inner * sizeof(float));
      } else {
        for (int64_t j = 0; j < inner; ++j) dst[j] = src[j * inner_stride];
      }
      for (size_t d = r - 1; d-- > 0;) {
        if (++idx[d] < dims[d]) break;
        idx[d] = 0;
      }
    }
  };
  // Rows split among threads; in the tile case split on whole R-row blocks.
  const int parts = PartsFor(size);
  if (parts <= 1) {
    run(0, rows);
  } else {
    const int64_t unit = tile ? dims[r - 2] : 1, units = rows / unit;
    const int chunks = ChunksFor(parts, units);
    ThePool().Run(chunks, [&](int p) {
      int64_t u0, u1;
      Range(units, chunks, p, &u0, &u1);
      run(u0 * unit, u1 * unit);
    });
  }
  return Undefined(env);
}

// ---------------------------------------------------------------- softmax over the last axis

// softmax(x, out, rows, cols)
napi_value Softmax(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (!Args(env, info, argv)) return nullptr;
  F32 x, out;
  int64_t rows, cols;
  if (!GetRowArrays(env, argv, {"x", "out"}, {&x, &out}, &rows, &cols, "softmax")) return nullptr;
  auto run = [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* src = x.data + r * cols;
      float* dst = out.data + r * cols;
      float mx = src[0];
      for (int64_t j = 1; j < cols; ++j) mx = std::max(mx, src[j]);
      float sum = 0;
      for (int64_t j = 0; j < cols; ++j) {
        dst[j] = std::exp(src[j] - mx);
        sum += dst[j];
      }
      const float inv = 1.f / sum;
      for (int64_t j = 0; j < cols; ++j) dst[j] *= inv;
    }
  };
  RunChunked(rows, PartsFor(rows * cols * 4), run);
  return Undefined(env);
}

// ---------------------------------------------------------------- gather along one axis
// gather(x, indices, out, outer, dim, inner) -> -1, or the position of the first index outside
// [0, dim) (then nothing is written and the caller lets the original kernel raise its error).
// x is [outer, dim, inner]; out is [outer, indices.length, inner].
napi_value Gather(napi_env env, napi_callback_info info) {
  napi_value argv[6];
  if (!Args(env, info, argv)) return nullptr;
  F32 x, out;
  I32 idx;
  int64_t outer, dim, inner;
  if (!GetF32(env, argv[0], "x", &x) || !GetI32View(env, argv[1], "indices", &idx) ||
      !GetF32(env, argv[2], "out", &out) || !GetInt(env, argv[3], "outer", &outer) ||
      !GetInt(env, argv[4], "dim", &dim) || !GetInt(env, argv[5], "inner", &inner))
    return nullptr;
  const int64_t n = static_cast<int64_t>(idx.length);
  if (outer < 0 || dim < 0 || inner < 0 || static_cast<int64_t>(x.length) != outer * dim * inner ||
      static_cast<int64_t>(out.length) != outer * n * inner) {
    Throw(env, "gather: array lengths do not match the dimensions");
    return nullptr;
  }
  napi_value result;
  for (int64_t i = 0; i < n; ++i) {
    if (idx.data[i] < 0 || idx.data[i] >= dim) {
      napi_create_int64(env, i, &result);
      return result;
    }
  }
  const int64_t rows = outer * n;
  auto run = [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t o = r / n, i = r % n;
      std::memcpy(out.data + r * inner, x.data + (o * dim + idx.data[i]) * inner, inner * sizeof(float));
    }
  };
  RunChunked(rows, rows > 1 ? PartsFor(rows * inner) : 1, run);
  napi_create_int64(env, -1, &result);
  return result;
}

// ---------------------------------------------------------------- split / concat along one axis
// Both see the tensor as [outer, dim, inner] and the parts as [outer, size_j, inner] with the
// sizes summing to dim: split copies each part out (Unpack, SplitV), concat copies them in.
bool CheckParts(napi_env env, const F32& whole, const std::vector<F32>& parts, int64_t outer, int64_t inner,
                const std::vector<int32_t>& sizes) {
  if (outer < 0 || inner < 0 || parts.size() != sizes.size()) return Throw(env, "split/concat: bad dimensions");
  int64_t dim = 0;
  for (size_t j = 0; j < parts.size(); ++j) {
    if (sizes[j] < 0 || static_cast<int64_t>(parts[j].length) != outer * sizes[j] * inner)
      return Throw(env, "split/concat: a part's length does not match its size");
    dim += sizes[j];
  }
  if (static_cast<int64_t>(whole.length) != outer * dim * inner)
    return Throw(env, "split/concat: the whole's length does not match the parts");
  return true;
}

template <bool kSplit>
napi_value SplitOrConcat(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  if (!Args(env, info, argv)) return nullptr;
  F32 whole;
  std::vector<F32> parts;
  std::vector<int32_t> sizes;
  int64_t outer, inner;
  if (!GetF32(env, argv[0], kSplit ? "x" : "out", &whole) ||
      !GetF32List(env, argv[1], kSplit ? "outs" : "inputs", &parts) || !GetInt(env, argv[2], "outer", &outer) ||
      !GetI32Array(env, argv[3], "sizes", &sizes) || !GetInt(env, argv[4], "inner", &inner) ||
      !CheckParts(env, whole, parts, outer, inner, sizes))
    return nullptr;
  int64_t dim = 0;
  std::vector<int64_t> starts(parts.size());
  for (size_t j = 0; j < parts.size(); ++j) {
    starts[j] = dim;
    dim += sizes[j];
  }
  auto run = [&](int64_t o0, int64_t o1) {
    for (int64_t o = o0; o < o1; ++o) {
      for (size_t j = 0; j < parts.size(); ++j) {
        const int64_t len = sizes[j] * inner;
        float* w = whole.data + (o * dim + starts[j]) * inner;
        float* p = parts[j].data + o * len;
        if (kSplit)
          std::memcpy(p, w, len * sizeof(float));
        else
          std::memcpy(w, p, len * sizeof(float));
      }
    }
  };
  RunChunked(outer, outer > 1 ? PartsFor(outer * dim * inner) : 1, run);
  return Undefined(env);
}

// ---------------------------------------------------------------- reductions over any axes
// reduce(x, out, shape: Int32Array, reduced: Int32Array (1 = reduce that axis), op)
// op 0 sum, 1 mean, 2 max (NaN propagates, as in tfjs). Sums accumulate in double, so the result
// does not depend on how the work is split. Adjacent axes of the same kind are merged first; the
// input is read once, in memory order (no transpose).
enum ReduceOp { kSum = 0, kMean = 1, kMax = 2 };

napi_value Reduce(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  if (!Args(env, info, argv)) return nullptr;
  F32 x, out;
  std::vector<int32_t> shape, reduced;
  int64_t op;
  if (!GetF32(env, argv[0], "x", &x) || !GetF32(env, argv[1], "out", &out) ||
      !GetI32Array(env, argv[2], "shape", &shape) || !GetI32Array(env, argv[3], "reduced", &reduced) ||
      !GetInt(env, argv[4], "op", &op))
    return nullptr;
  if (reduced.size() != shape.size() || op < kSum || op > kMax) {
    Throw(env, "reduce: bad shape, axes or op");
    return nullptr;
  }
  int64_t size = 1, out_size = 1;
  std::vector<int64_t> dims;
  std::vector<bool> red;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] < 0) {
      Throw(env, "reduce: bad shape");
      return nullptr;
    }
    size *= shape[d];
    if (!reduced[d]) out_size *= shape[d];
    if (shape[d] == 1) continue;
    if (!red.empty() && red.back() == (reduced[d] != 0)) {
      dims.back() *= shape[d];
    } else {
      dims.push_back(shape[d]);
      red.push_back(reduced[d] != 0);
    }
  }
  if (static_cast<int64_t>(x.length) != size || static_cast<int64_t>(out.length) != out_size) {
    Throw(env, "reduce: array lengths do not match the shape");
    return nullptr;
  }
  if (size == 0) {
    Throw(env, "reduce: empty input");
    return nullptr;
  }
  const int64_t count = size / out_size;  // elements reduced into each output
  if (dims.empty()) {
    dims.push_back(1);
    red.push_back(false);
  }
  const size_t r = dims.size();
  // Output strides of the merged dims (0 for reduced ones).
  std::vector<int64_t> ostr(r, 0);
  {
    int64_t s = 1;
    for (size_t d = r; d-- > 0;) {
      if (!red[d]) {
        ostr[d] = s;
        s *= dims[d];
      }
    }
  }
  const bool inner_reduced = red[r - 1];
  const int64_t inner = dims[r - 1];
  const int64_t rows = size / inner;
  const bool is_max = op == kMax;

  // Accumulates rows [row0, row1) of the input into acc (out_size entries).
  auto accumulate = [&](int64_t row0, int64_t row1, double* acc, float* accf) {
    std::vector<int64_t> idx(r - 1, 0);
    int64_t rem = row0, ooff = 0;
    for (size_t d = r - 1; d-- > 0;) {
      idx[d] = rem % dims[d];
      rem /= dims[d];
      ooff += idx[d] * ostr[d];
    }
    for (int64_t row = row0; row < row1; ++row) {
      const float* src = x.data + row * inner;
      if (is_max) {
        if (inner_reduced) {
          float m = accf[ooff];
          for (int64_t j = 0; j < inner; ++j) {
            const float v = src[j];
            if (v > m || std::isnan(v)) m = std::isnan(m) ? m : v;
          }
          accf[ooff] = m;
        } else {
          float* dst = accf + ooff;
          for (int64_t j = 0; j < inner; ++j) {
            const float v = src[j];
            if (v > dst[j] || (std::isnan(v) && !std::isnan(dst[j]))) dst[j] = v;
          }
        }
      } else if (inner_reduced) {
        double s = 0;
        for (int64_t j = 0; j < inner; ++j) s += src[j];
        acc[ooff] += s;
      } else {
        double* dst = acc + ooff;
        for (int64_t j = 0; j < inner; ++j) dst[j] += src[j];
      }
      for (size_t d = r - 1; d-- > 0;) {
        ooff += ostr[d];
        if (++idx[d] < dims[d]) break;
        ooff -= ostr[d] * dims[d];
        idx[d] = 0;
      }
    }
  };

  const int parts = PartsFor(size);
  const float init = is_max ? -std::numeric_limits<float>::infinity() : 0.f;
  if (is_max) {
    std::fill(out.data, out.data + out_size, init);
    std::vector<std::vector<float>> partial(parts > 1 ? parts - 1 : 0, std::vector<float>(out_size, init));
    if (parts <= 1) {
      accumulate(0, rows, nullptr, out.data);
    } else {
      ThePool().Run(parts, [&](int p) {
        int64_t r0, r1;
        Range(rows, parts, p, &r0, &r1);
        accumulate(r0, r1, nullptr, p == 0 ? out.data : partial[p - 1].data());
      });
      for (auto& part : partial)
        for (int64_t i = 0; i < out_size; ++i) {
          const float v = part[i];
          if (v > out.data[i] || (std::isnan(v) && !std::isnan(out.data[i]))) out.data[i] = v;
        }
    }
    return Undefined(env);
  }
  // Sums: one double accumulator per thread, combined in a fixed order.
  std::vector<std::vector<double>> acc(std::max(parts, 1), std::vector<double>(out_size, 0.0));
  if (parts <= 1) {
    accumulate(0, rows, acc[0].data(), nullptr);
  } else {
    ThePool().Run(parts, [&](int p) {
      int64_t r0, r1;
      Range(rows, parts, p, &r0, &r1);
      accumulate(r0, r1, acc[p].data(), nullptr);
    });
  }
  const double scale = op == kMean ? 1.0 / static_cast<double>(count) : 1.0;
  for (int64_t i = 0; i < out_size; ++i) {
    double s = acc[0][i];
    for (size_t p = 1; p < acc.size(); ++p) s += acc[p][i];
    out.data[i] = static_cast<float>(s * scale);
  }
  return Undefined(env);
}

// ---------------------------------------------------------------- layer norm over the last axis

// Row statistics with double accumulation in 8 lanes (then the tail): mean and
// 1 / sqrt(biased variance + eps). The order is fixed, so threads and instruction sets agree.
inline __attribute__((always_inline)) void RowStats(const float* x, int64_t cols, double eps, double* mean,
                                                    double* rstd) {
  D8 acc = D8{};
  int64_t j = 0;
  for (; j + 8 <= cols; j += 8) acc += LoadD8(x + j);
  double s = SumLanes(acc);
  for (; j < cols; ++j) s += x[j];
  const double m = s / static_cast<double>(cols);
  acc = D8{};
  j = 0;
  for (; j + 8 <= cols; j += 8) {
    const D8 c = LoadD8(x + j) - m;
    acc += c * c;
  }
  double v = SumLanes(acc);
  for (; j < cols; ++j) {
    const double c = x[j] - m;
    v += c * c;
  }
  *mean = m;
  *rstd = 1.0 / std::sqrt(v / static_cast<double>(cols) + eps);
}

// Rows [r0, r1) of the layer norm, compiled per instruction set.
VZERO_CLONES void LayerNormRows(const float* x, const float* gamma, const float* beta, float* out, int64_t r0,
                                int64_t r1, int64_t cols, double eps) {
  for (int64_t r = r0; r < r1; ++r) {
    const float* src = x + r * cols;
    float* dst = out + r * cols;
    double mean, rstd;
    RowStats(src, cols, eps, &mean, &rstd);
    const float m = static_cast<float>(mean), s = static_cast<float>(rstd);
    for (int64_t j = 0; j < cols; ++j) dst[j] = (src[j] - m) * s * gamma[j] + beta[j];
  }
}

// Rows [r0, r1) of the layer norm's gradient; dgamma and dbeta partial sums go to ag and ab.
VZERO_CLONES void LayerNormGradRows(const float* dy, const float* x, const float* gamma, float* dx, double* ag,
                                    double* ab, int64_t r0, int64_t r1, int64_t cols, double eps) {
  for (int64_t r = r0; r < r1; ++r) {
    const float* xr = x + r * cols;
    const float* dyr = dy + r * cols;
    float* dxr = dx + r * cols;
    double mean, rstd;
    RowStats(xr, cols, eps, &mean, &rstd);
    D8 sg8 = D8{}, sgx8 = D8{};
    int64_t j = 0;
    for (; j + 8 <= cols; j += 8) {
      const D8 xh = (LoadD8(xr + j) - mean) * rstd;
      const D8 d = LoadD8(dyr + j);
      const D8 g = d * LoadD8(gamma + j);
      sg8 += g;
      sgx8 += g * xh;
      for (int k = 0; k < 8; ++k) {
        ag[j + k] += d[k] * xh[k];
        ab[j + k] += d[k];
      }
    }
    double sg = SumLanes(sg8), sgx = SumLanes(sgx8);
    for (; j < cols; ++j) {
      const double xh = (xr[j] - mean) * rstd;
      const double g = static_cast<double>(dyr[j]) * gamma[j];
      sg += g;
      sgx += g * xh;
      ag[j] += static_cast<double>(dyr[j]) * xh;
      ab[j] += dyr[j];
    }
    const double mg = sg / static_cast<double>(cols), mgx = sgx / static_cast<double>(cols);
    for (j = 0; j < cols; ++j) {
      const double xh = (xr[j] - mean) * rstd;
      const double g = static_cast<double>(dyr[j]) * gamma[j];
      dxr[j] = static_cast<float>(rstd * (g - mg - xh * mgx));
    }
  }
}

// layerNorm(x, gamma, beta, out, rows, cols, eps): out = (x - mean) * rstd * gamma + beta per row.
napi_value LayerNorm(napi_env env, napi_callback_info info) {
  napi_value argv[7];
  if (!Args(env, info, argv)) return nullptr;
  F32 x, gamma, beta, out;
  int64_t rows, cols;
  double eps;
  if (!GetF32(env, argv[0], "x", &x) || !GetF32(env, argv[1], "gamma", &gamma) ||
      !GetF32(env, argv[2], "beta", &beta) || !GetF32(env, argv[3], "out", &out) ||
      !GetInt(env, argv[4], "rows", &rows) || !GetInt(env, argv[5], "cols", &cols) ||
      !GetDouble(env, argv[6], "eps", &eps))
    return nullptr;
  if (rows < 0 || cols < 1 || static_cast<int64_t>(x.length) != rows * cols ||
      static_cast<int64_t>(out.length) != rows * cols || static_cast<int64_t>(gamma.length) != cols ||
      static_cast<int64_t>(beta.length) != cols) {
    Throw(env, "layerNorm: array lengths do not match rows x cols");
    return nullptr;
  }
  auto run = [&](int64_t r0, int64_t r1) {
    LayerNormRows(x.data, gamma.data, beta.data, out.data, r0, r1, cols, eps);
  };
  RunChunked(rows, PartsFor(rows * cols * 3), run);
  return Undefined(env);
}

// layerNormGrad(dy, x, gamma, dx, dgamma, dbeta, rows, cols, eps): the gradients of layerNorm,
// statistics recomputed from x. With xhat = (x - mean) * rstd and g = dy * gamma:
// dx = rstd * (g - mean(g) - xhat * mean(g * xhat)), dgamma = sum_rows dy * xhat, dbeta = sum_rows dy.
napi_value LayerNormGrad(napi_env env, napi_callback_info info) {
  napi_value argv[9];
  if (!Args(env, info, argv)) return nullptr;
  F32 dy, x, gamma, dx, dgamma, dbeta;
  int64_t rows, cols;
  double eps;
  if (!GetF32(env, argv[0], "dy", &dy) || !GetF32(env, argv[1], "x", &x) ||
      !GetF32(env, argv[2], "gamma", &gamma) || !GetF32(env, argv[3], "dx", &dx) ||
      !GetF32(env, argv[4], "dgamma", &dgamma) || !GetF32(env, argv[5], "dbeta", &dbeta) ||
      !GetInt(env, argv[6], "rows", &rows) || !GetInt(env, argv[7], "cols", &cols) ||
      !GetDouble(env, argv[8], "eps", &eps))
    return nullptr;
  const int64_t n = rows * cols;
  if (rows < 0 || cols < 1 || static_cast<int64_t>(dy.length) != n || static_cast<int64_t>(x.length) != n ||
      static_cast<int64_t>(dx.length) != n || static_cast<int64_t>(gamma.length) != cols ||
      static_cast<int64_t>(dgamma.length) != cols || static_cast<int64_t>(dbeta.length) != cols) {
    Throw(env, "layerNormGrad: array lengths do not match rows x cols");
    return nullptr;
  }
  const int parts = PartsFor(n * 6);
  const int chunks = parts <= 1 ? 1 : ChunksFor(parts, rows);
  // Per-chunk partial sums of dgamma and dbeta (double), added in chunk order: deterministic.
  std::vector<double> acc(static_cast<size_t>(chunks) * 2 * cols, 0.0);
  auto run = [&](int64_t r0, int64_t r1, double* ag, double* ab) {
    LayerNormGradRows(dy.data, x.data, gamma.data, dx.data, ag, ab, r0, r1, cols, eps);
  };
  if (chunks <= 1) {
    run(0, rows, acc.data(), acc.data() + cols);
  } else {
    ThePool().Run(chunks, [&](int p) {
      int64_t r0, r1;
      Range(rows, chunks, p, &r0, &r1);
      double* base = acc.data() + static_cast<size_t>(p) * 2 * cols;
      run(r0, r1, base, base + cols);
    });
  }
  for (int64_t j = 0; j < cols; ++j) {
    double g = 0, b = 0;
    for (int p = 0; p < chunks; ++p) {
      g += acc[static_cast<size_t>(p) * 2 * cols + j];
      b += acc[static_cast<size_t>(p) * 2 * cols + cols + j];
    }
    dgamma.data[j] = static_cast<float>(g);
    dbeta.data[j] = static_cast<float>(b);
  }
  return Undefined(env);
}

struct AdamWConstants {
  float scale, b1, ob1, b2, ob2, c1, c2, eps, lr, decay;
};

// Elements [i0, i1) of one AdamW step, compiled per instruction set (the same float operations:
// vector sqrt and division round as the scalar ones do).
VZERO_CLONES void AdamWRange(const float* x, const float* g, const float* m, const float* v, float* xo, float* mo,
                             float* vo, int64_t i0, int64_t i1, const AdamWConstants& k) {
  for (int64_t i = i0; i < i1; ++i) {
    const float gs = g[i] * k.scale;
    const float mn = m[i] * k.b1 + gs * k.ob1;
    const float vn = v[i] * k.b2 + (gs * gs) * k.ob2;
    const float update = (mn / k.c1) / (std::sqrt(vn / k.c2) + k.eps);
    mo[i] = mn;
    vo[i] = vn;
    xo[i] = x[i] * k.decay - update * k.lr;
  }
}

// adamw(x, g, m, v, xOut, mOut, vOut, scale, beta1, oneMinusBeta1, beta2, oneMinusBeta2, c1, c2,
// eps, lr, decay): one AdamW step per element, in float32 op for op as the unfused tfjs ops do
// (each constant rounded to float32 as a tfjs scalar is; no fused multiply-add):
// g' = g * scale; m' = m * beta1 + g' * (1 - beta1); v' = v * beta2 + g'^2 * (1 - beta2);
// x' = x * decay - (m' / c1) / (sqrt(v' / c2) + eps) * lr. Outputs are new arrays (tfjs tensors
// are immutable), so the inputs are only read.
napi_value AdamW(napi_env env, napi_callback_info info) {
  napi_value argv[17];
  if (!Args(env, info, argv)) return nullptr;
  F32 x, g, m, v, xo, mo, vo;
  double c[10];
  static const char* names[10] = {"scale", "beta1", "oneMinusBeta1", "beta2", "oneMinusBeta2",
                                  "c1",    "c2",    "eps",           "lr",    "decay"};
  if (!GetF32(env, argv[0], "x", &x) || !GetF32(env, argv[1], "g", &g) || !GetF32(env, argv[2], "m", &m) ||
      !GetF32(env, argv[3], "v", &v) || !GetF32(env, argv[4], "xOut", &xo) ||
      !GetF32(env, argv[5], "mOut", &mo) || !GetF32(env, argv[6], "vOut", &vo))
    return nullptr;
  for (int i = 0; i < 10; ++i)
    if (!GetDouble(env, argv[7 + i], names[i], &c[i])) return nullptr;
  const size_t n = x.length;
  if (g.length != n || m.length != n || v.length != n || xo.length != n || mo.length != n || vo.length != n) {
    Throw(env, "adamw: array lengths differ");
    return nullptr;
  }
  const float scale = static_cast<float>(c[0]), b1 = static_cast<float>(c[1]), ob1 = static_cast<float>(c[2]),
              b2 = static_cast<float>(c[3]), ob2 = static_cast<float>(c[4]), c1 = static_cast<float>(c[5]),
              c2 = static_cast<float>(c[6]), eps = static_cast<float>(c[7]), lr = static_cast<float>(c[8]),
              decay = static_cast<float>(c[9]);
  const AdamWConstants k{scale, b1, ob1, b2, ob2, c1, c2, eps, lr, decay};
  auto run = [&](int64_t i0, int64_t i1) {
    AdamWRange(x.data, g.data, m.data, v.data, xo.data, mo.data, vo.data, i0, i1, k);
  };
  const int64_t total = static_cast<int64_t>(n);
  RunChunked(total, PartsFor(total * 7), run);
  return Undefined(env);
}

// exp(x) for x <= 0 (softmax inputs after subtracting the row maximum), written so the compiler
// vectorises it (no libm call): Cephes' expf range reduction and polynomial, rounding by the
// 1.5 * 2^23 trick, 2^n built in the exponent bits. Relative error ~2e-7 (a float32 ulp or two);
// x below -87.3 gives exactly 0, as expf's result (< 1e-38) is to float32 softmax. A template so
// that the scalar tail and the 8-lane vector body (GCC vector extensions, below) run the same
// float operations in the same order and give the same bits.
template <typename V, typename I>
inline V ExpNonPositiveT(V x0) {
  // Written so a NaN input stays NaN (through y).
  const V keep = x0 < -87.3f ? V{} + 0.f : V{} + 1.f;
  const V x = x0 < -87.3f ? V{} - 87.3f : x0;
  const V n = (x * 1.44269504088896341f + 12582912.f) - 12582912.f;
  V r = x - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  const V z = r * r;
  V y = V{} + 1.9875691500e-4f;
  y = y * r + 1.3981999507e-3f;
  y = y * r + 8.3334519073e-3f;
  y = y * r + 4.1665795894e-2f;
  y = y * r + 1.6666665459e-1f;
  y = y * r + 5.0000001201e-1f;
  y = y * z + r + 1.f;
  I bits;
  if constexpr (std::is_same_v<V, float>) {
    bits = (static_cast<int32_t>(n) + 127) << 23;
  } else {
    bits = (__builtin_convertvector(n, I) + 127) << 23;
  }
  V scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return y * scale * keep;
}

inline float ExpNonPositive(float x) { return ExpNonPositiveT<float, int32_t>(x); }

// One row of the scaled masked softmax: z = x * scale (+ mask), then softmax. Maximum and sum
// over 8 interleaved lanes (combined in a fixed order), so every thread count and every
// instruction set gives the same numbers; the lanes are one vector value.
template <bool kMasked>
inline __attribute__((always_inline)) void SoftmaxRow(const float* __restrict src, const float* __restrict mk,
                                                      float* __restrict dst, int64_t cols, float scale) {
  constexpr int kLanes = 8;
  F8 m = F8{} - INFINITY;
  int64_t j = 0;
  for (; j + kLanes <= cols; j += kLanes) {
    F8 z = Load8(src + j) * scale;
    if (kMasked) z = z + Load8(mk + j);
    Store8(dst + j, z);
    m = z > m ? z : m;
  }
  float mx = -INFINITY;
  for (; j < cols; ++j) {
    float z = src[j] * scale;
    if (kMasked) z = z + mk[j];
    dst[j] = z;
    mx = z > mx ? z : mx;
  }
  for (int k = 0; k < kLanes; ++k) mx = m[k] > mx ? m[k] : mx;
  F8 s = F8{};
  j = 0;
  for (; j + kLanes <= cols; j += kLanes) {
    const F8 e = ExpNonPositiveT<F8, I8>(Load8(dst + j) - mx);
    Store8(dst + j, e);
    s += e;
  }
  for (int64_t i = j; i < cols; ++i) dst[i] = ExpNonPositive(dst[i] - mx);
  float sum = 0;
  for (int k = 0; k < kLanes; ++k) sum += s[k];
  for (; j < cols; ++j) sum += dst[j];
  const float inv = 1.f / sum;
  j = 0;
  for (; j + kLanes <= cols; j += kLanes) Store8(dst + j, Load8(dst + j) * inv);
  for (; j < cols; ++j) dst[j] *= inv;
}

// Rows [r0, r1) of the scaled masked softmax, compiled once per instruction set (VZERO_CLONES).
VZERO_CLONES void SoftmaxRows(const float* x, const float* mask, const int32_t* mask_rows, float* out, int64_t r0,
                              int64_t r1, int64_t cols, float scale) {
  for (int64_t r = r0; r < r1; ++r) {
    const float* src = x + r * cols;
    float* dst = out + r * cols;
    if (mask != nullptr) {
      SoftmaxRow<true>(src, mask + static_cast<int64_t>(mask_rows[r]) * cols, dst, cols, scale);
    } else {
      SoftmaxRow<false>(src, nullptr, dst, cols, scale);
    }
  }
}

// Whether every one of `rows` mask-row indices is in [0, count); throws naming `who` if not.
bool MaskRowsInRange(napi_env env, const I32& mask_rows, int64_t rows, int64_t count, const char* who) {
  for (int64_t r = 0; r < rows; ++r) {
    if (mask_rows.data[r] < 0 || mask_rows.data[r] >= count) {
      Throw(env, std::string(who) + ": mask row out of range");
      return false;
    }
  }
  return true;
}

// scaledMaskedSoftmax(x, mask, maskRows, out, rows, cols, scale): out row r = softmax over cols
// of x[r] * scale + mask[maskRows[r]] (mask null: no mask): the attention's scale, mask and
// softmax in one pass, with the vectorised exp above (the sum in 8 lanes, so float32 results
// differ from the unfused kernels' in the last bits).
napi_value ScaledMaskedSoftmax(napi_env env, napi_callback_info info) {
  napi_value argv[7];
  if (!Args(env, info, argv)) return nullptr;
  F32 x, mask, out;
  I32 mask_rows;
  int64_t rows, cols;
  double scale_d;
  if (!GetF32(env, argv[0], "x", &x) || !GetF32(env, argv[1], "mask", &mask, true) ||
      !GetI32View(env, argv[2], "maskRows", &mask_rows) || !GetF32(env, argv[3], "out", &out) ||
      !GetInt(env, argv[4], "rows", &rows) || !GetInt(env, argv[5], "cols", &cols) ||
      !GetDouble(env, argv[6], "scale", &scale_d))
    return nullptr;
  const bool masked = mask.data != nullptr;
  if (rows < 0 || cols < 1 || static_cast<int64_t>(x.length) != rows * cols ||
      static_cast<int64_t>(out.length) != rows * cols ||
      (masked && (static_cast<int64_t>(mask_rows.length) != rows || mask.length % cols != 0))) {
    Throw(env, "scaledMaskedSoftmax: array lengths do not match rows x cols");
    return nullptr;
  }
  if (masked && !MaskRowsInRange(env, mask_rows, rows, static_cast<int64_t>(mask.length) / cols, "scaledMaskedSoftmax"))
    return nullptr;
  const float scale = static_cast<float>(scale_d);
  auto run = [&](int64_t r0, int64_t r1) {
    SoftmaxRows(x.data, masked ? mask.data : nullptr, mask_rows.data, out.data, r0, r1, cols, scale);
  };
  RunChunked(rows, PartsFor(rows * cols * 4), run);
  return Undefined(env);
}

// Rows [r0, r1) of the softmax gradient (the row sum in 8 double lanes, then the tail).
VZERO_CLONES void SoftmaxGradRows(const float* dy, const float* y, float* dx, int64_t r0, int64_t r1, int64_t cols,
                                  float scale) {
  for (int64_t r = r0; r < r1; ++r) {
    const float* g = dy + r * cols;
    const float* yr = y + r * cols;
    float* d = dx + r * cols;
    D8 acc = D8{};
    int64_t j = 0;
    for (; j + 8 <= cols; j += 8) acc += __builtin_convertvector(Load8(g + j) * Load8(yr + j), D8);
    double s = SumLanes(acc);
    for (; j < cols; ++j) s += static_cast<double>(g[j] * yr[j]);
    const float sf = static_cast<float>(s);
    for (j = 0; j < cols; ++j) d[j] = (g[j] * yr[j] - yr[j] * sf) * scale;
  }
}

// scaledMaskedSoftmaxGrad(dy, y, dx, rows, cols, scale): the gradient in x of the above from its
// output y: dx = scale * (dy * y - y * sum(dy * y)) per row (the sum in double, 8 lanes).
napi_value ScaledMaskedSoftmaxGrad(napi_env env, napi_callback_info info) {
  napi_value argv[6];
  if (!Args(env, info, argv)) return nullptr;
  F32 dy, y, dx;
  int64_t rows, cols;
  double scale_d;
  if (!GetRowArrays(env, argv, {"dy", "y", "dx"}, {&dy, &y, &dx}, &rows, &cols, "scaledMaskedSoftmaxGrad") ||
      !GetDouble(env, argv[5], "scale", &scale_d))
    return nullptr;
  const int64_t n = rows * cols;
  const float scale = static_cast<float>(scale_d);
  auto run = [&](int64_t r0, int64_t r1) { SoftmaxGradRows(dy.data, y.data, dx.data, r0, r1, cols, scale); };
  RunChunked(rows, PartsFor(n * 4), run);
  return Undefined(env);
}

// ---------------------------------------------------------------- log-softmax over the last axis
// Rows [r0, r1): y = (x - max) - log(sum exp(x - max)), the maximum in 8 float lanes and the sum
// in 8 double lanes (then the tails), with the vectorised exp above. A row holding NaN gives NaN.
VZERO_CLONES void LogSoftmaxRows(const float* x, float* y, int64_t r0, int64_t r1, int64_t cols) {
  constexpr int kLanes = 8;
  for (int64_t r = r0; r < r1; ++r) {
    const float* __restrict src = x + r * cols;
    float* __restrict dst = y + r * cols;
    F8 m = F8{} - INFINITY;
    int64_t j = 0;
    for (; j + kLanes <= cols; j += kLanes) {
      const F8 z = Load8(src + j);
      m = z > m ? z : m;
    }
    float mx = -INFINITY;
    for (; j < cols; ++j) mx = src[j] > mx ? src[j] : mx;
    for (int k = 0; k < kLanes; ++k) mx = m[k] > mx ? m[k] : mx;
    D8 acc = D8{};
    j = 0;
    for (; j + kLanes <= cols; j += kLanes)
      acc += __builtin_convertvector(ExpNonPositiveT<F8, I8>(Load8(src + j) - mx), D8);
    double sum = SumLanes(acc);
    for (; j < cols; ++j) sum += ExpNonPositive(src[j] - mx);
    const float lse = static_cast<float>(std::log(sum));
    j = 0;
    for (; j + kLanes <= cols; j += kLanes) Store8(dst + j, (Load8(src + j) - mx) - lse);
    for (; j < cols; ++j) dst[j] = (src[j] - mx) - lse;
  }
}

// Rows [r0, r1) of its gradient from the output y: dx = dy - exp(y) * sum(dy) (the sum in 8
// double lanes, then the tail).
VZERO_CLONES void LogSoftmaxGradRows(const float* dy, const float* y, float* dx, int64_t r0, int64_t r1,
                                     int64_t cols) {
  constexpr int kLanes = 8;
  for (int64_t r = r0; r < r1; ++r) {
    const float* __restrict g = dy + r * cols;
    const float* __restrict yr = y + r * cols;
    float* __restrict d = dx + r * cols;
    D8 acc = D8{};
    int64_t j = 0;
    for (; j + kLanes <= cols; j += kLanes) acc += __builtin_convertvector(Load8(g + j), D8);
    double s = SumLanes(acc);
    for (; j < cols; ++j) s += g[j];
    const float sf = static_cast<float>(s);
    j = 0;
    for (; j + kLanes <= cols; j += kLanes)
      Store8(d + j, Load8(g + j) - ExpNonPositiveT<F8, I8>(Load8(yr + j)) * sf);
    for (; j < cols; ++j) d[j] = g[j] - ExpNonPositive(yr[j]) * sf;
  }
}

// logSoftmax(x, out, rows, cols) and logSoftmaxGrad(dy, y, dx, rows, cols).
napi_value LogSoftmax(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (!Args(env, info, argv)) return nullptr;
  F32 x, out;
  int64_t rows, cols;
  if (!GetRowArrays(env, argv, {"x", "out"}, {&x, &out}, &rows, &cols, "logSoftmax")) return nullptr;
  auto run = [&](int64_t r0, int64_t r1) { LogSoftmaxRows(x.data, out.data, r0, r1, cols); };
  RunChunked(rows, PartsFor(rows * cols * 4), run);
  return Undefined(env);
}

napi_value LogSoftmaxGrad(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  if (!Args(env, info, argv)) return nullptr;
  F32 dy, y, dx;
  int64_t rows, cols;
  if (!GetRowArrays(env, argv, {"dy", "y", "dx"}, {&dy, &y, &dx}, &rows, &cols, "logSoftmaxGrad")) return nullptr;
  const int64_t n = rows * cols;
  auto run = [&](int64_t r0, int64_t r1) { LogSoftmaxGradRows(dy.data, y.data, dx.data, r0, r1, cols); };
  RunChunked(rows, PartsFor(n * 4), run);
  return Undefined(env);
}

// ---------------------------------------------------------------- attention
// One attention head of one batch row at a time, so the heads need no transposes: q and the
// output are in token layout [B, Tq, H * dh] (a head is a column block, read with a row stride),
// keys and values in the cache's head layout [B, H, Tk, dh]. Scores and probabilities of a head
// stay in a per-thread buffer unless the caller keeps the probabilities for the gradient.

struct AttentionShape {
  int64_t B, H, Tq, Tk, dh;
  int64_t d() const { return H * dh; }
};

bool GetAttentionShape(napi_env env, napi_value* argv, AttentionShape* s) {
  return GetInt(env, argv[0], "batch", &s->B) && GetInt(env, argv[1], "heads", &s->H) &&
         GetInt(env, argv[2], "queries", &s->Tq) && GetInt(env, argv[3], "keys", &s->Tk) &&
         GetInt(env, argv[4], "headWidth", &s->dh) && s->B >= 0 && s->H >= 1 && s->Tq >= 1 && s->Tk >= 1 &&
         s->dh >= 1;
}

// Heads [u0, u1) (u = b * H + h) of the attention: out[b, i, h*dh:(h+1)*dh] = softmax(q_bh k_bh^T
// * scale + mask row) v_bh over keys 0..Tk-1, where head u's keys and values start at
// k/v + u * capacity * dh (capacity >= Tk: a preallocated cache's head holds more positions than
// are read). probs (null: not kept) receives the softmax [B, H, Tq, Tk].
void AttentionHeads(const AttentionShape& sh, int64_t capacity, const float* q, const float* k, const float* v,
                    const float* mask, const int32_t* mask_rows, float* out, float* probs, float scale, int64_t u0,
                    int64_t u1) {
  const int64_t H = sh.H, Tq = sh.Tq, Tk = sh.Tk, dh = sh.dh, d = sh.d();
  thread_local std::vector<float> scores, local_probs;
  scores.resize(static_cast<size_t>(Tq * Tk));
  if (!probs) local_probs.resize(static_cast<size_t>(Tq * Tk));
  for (int64_t u = u0; u < u1; ++u) {
    const int64_t b = u / H, h = u % H;
    const float* Q = q + b * Tq * d + h * dh;
    const float* K = k + u * capacity * dh;
    const float* V = v + u * capacity * dh;
    float* P = probs ? probs + u * Tq * Tk : local_probs.data();
    Sgemm(false, true, Tq, Tk, dh, Q, d, K, dh, scores.data(), Tk);
    const int32_t* mr = mask ? mask_rows + u * Tq : nullptr;
    SoftmaxRows(scores.data(), mask, mr, P, 0, Tq, Tk, scale);
    Sgemm(false, false, Tq, dh, Tk, P, Tk, V, dh, out + b * Tq * d + h * dh, d);
  }
}

// Whether the attention's mask (null: none) and its row index fit the shape (throws naming `who`
// when not).
bool CheckAttentionMask(napi_env env, const AttentionShape& sh, const F32& mask, const I32& mask_rows,
                        const char* who) {
  const int64_t rows = sh.B * sh.H * sh.Tq;
  if (!mask.data) return true;
  if (static_cast<int64_t>(mask_rows.length) != rows || mask.length % sh.Tk != 0) {
    Throw(env, std::string(who) + ": array lengths do not match the shape");
    return false;
  }
  return MaskRowsInRange(env, mask_rows, rows, static_cast<int64_t>(mask.length) / sh.Tk, who);
}

// attention(batch, heads, queries, keys, headWidth, q, k, v, mask|null, maskRows, out, probs|null,
// scale): out[b, i, h*dh:(h+1)*dh] = softmax(q_bh k_bh^T * scale + mask row) v_bh; probs, when
// given ([B, H, Tq, Tk]), receives the softmax for the gradient. maskRows gives the mask row of
// each (b, h, i) row, as for scaledMaskedSoftmax.
napi_value Attention(napi_env env, napi_callback_info info) {
  napi_value argv[13];
  if (!Args(env, info, argv)) return nullptr;
  AttentionShape sh;
  F32 q, k, v, mask, out, probs;
  I32 mask_rows;
  double scale_d;
  if (!GetAttentionShape(env, argv, &sh) || !GetF32(env, argv[5], "q", &q) || !GetF32(env, argv[6], "k", &k) ||
      !GetF32(env, argv[7], "v", &v) || !GetF32(env, argv[8], "mask", &mask, true) ||
      !GetI32View(env, argv[9], "maskRows", &mask_rows) || !GetF32(env, argv[10], "out", &out) ||
      !GetF32(env, argv[11], "probs", &probs, true) || !GetDouble(env, argv[12], "scale", &scale_d))
    return nullptr;
  const int64_t B = sh.B, H = sh.H, Tq = sh.Tq, Tk = sh.Tk, dh = sh.dh, d = sh.d();
  if (static_cast<int64_t>(q.length) != B * Tq * d || static_cast<int64_t>(out.length) != B * Tq * d ||
      static_cast<int64_t>(k.length) != B * H * Tk * dh || static_cast<int64_t>(v.length) != B * H * Tk * dh ||
      (probs.data && static_cast<int64_t>(probs.length) != B * H * Tq * Tk)) {
    Throw(env, "attention: array lengths do not match the shape");
    return nullptr;
  }
  if (!CheckAttentionMask(env, sh, mask, mask_rows, "attention")) return nullptr;
  const float scale = static_cast<float>(scale_d);
  auto run = [&](int64_t u0, int64_t u1) {
    AttentionHeads(sh, Tk, q.data, k.data, v.data, mask.data, mask_rows.data, out.data, probs.data, scale, u0, u1);
  };
  RunChunked(B * H, PartsFor(B * H * Tq * Tk * dh * 2), run);
  return Undefined(env);
}

// attentionAppend(batch, heads, queries, keys, headWidth, capacity, q, kNew, vNew, kCache, vCache,
// mask|null, maskRows, out, scale): decoding over a preallocated cache. Writes the new keys and
// values kNew, vNew (token layout [B, Tq, H * dh], as a linear layer gives them) into positions
// keys - queries .. keys - 1 of kCache, vCache ([B, H, capacity, dh]) in place, then computes
// attention over their first `keys` positions exactly as attention does over a cache of that
// length (the same products on the same rows), without the copy a concatenation makes.
napi_value AttentionAppend(napi_env env, napi_callback_info info) {
  napi_value argv[15];
  if (!Args(env, info, argv)) return nullptr;
  AttentionShape sh;
  int64_t capacity;
  F32 q, k_new, v_new, k_cache, v_cache, mask, out;
  I32 mask_rows;
  double scale_d;
  if (!GetAttentionShape(env, argv, &sh) || !GetInt(env, argv[5], "capacity", &capacity) ||
      !GetF32(env, argv[6], "q", &q) || !GetF32(env, argv[7], "kNew", &k_new) ||
      !GetF32(env, argv[8], "vNew", &v_new) || !GetF32(env, argv[9], "kCache", &k_cache) ||
      !GetF32(env, argv[10], "vCache", &v_cache) || !GetF32(env, argv[11], "mask", &mask, true) ||
      !GetI32View(env, argv[12], "maskRows", &mask_rows) || !GetF32(env, argv[13], "out", &out) ||
      !GetDouble(env, argv[14], "scale", &scale_d))
    return nullptr;
  const int64_t B = sh.B, H = sh.H, Tq = sh.Tq, Tk = sh.Tk, dh = sh.dh, d = sh.d();
  const int64_t tokens = B * Tq * d, cache = B * H * capacity * dh;
  if (Tk < Tq || capacity < Tk || static_cast<int64_t>(q.length) != tokens ||
      static_cast<int64_t>(out.length) != tokens || static_cast<int64_t>(k_new.length) != tokens ||
      static_cast<int64_t>(v_new.length) != tokens || static_cast<int64_t>(k_cache.length) != cache ||
      static_cast<int64_t>(v_cache.length) != cache) {
    Throw(env, "attentionAppend: array lengths do not match the shape");
    return nullptr;
  }
  if (!CheckAttentionMask(env, sh, mask, mask_rows, "attentionAppend")) return nullptr;
  const float scale = static_cast<float>(scale_d);
  auto run = [&](int64_t u0, int64_t u1) {
    // Each head writes its own new rows, then reads only its own rows.
    for (int64_t u = u0; u < u1; ++u) {
      const int64_t b = u / H, h = u % H;
      for (int64_t i = 0; i < Tq; ++i) {
        const int64_t src = (b * Tq + i) * d + h * dh, dst = (u * capacity + Tk - Tq + i) * dh;
        std::copy(k_new.data + src, k_new.data + src + dh, k_cache.data + dst);
        std::copy(v_new.data + src, v_new.data + src + dh, v_cache.data + dst);
      }
    }
    AttentionHeads(sh, capacity, q.data, k_cache.data, v_cache.data, mask.data, mask_rows.data, out.data, nullptr,
                   scale, u0, u1);
  };
  RunChunked(B * H, PartsFor(B * H * Tq * Tk * dh * 2), run);
  return Undefined(env);
}

// attentionGrad(batch, heads, queries, keys, headWidth, dy, q, k, v, probs, dq, dk, dv, scale):
// the gradients of attention from its saved probabilities P, per head: dV = P^T dO,
// dS = softmaxGrad(dO V^T, P) * scale, dQ = dS K, dK = dS^T Q (layouts as in attention).
napi_value AttentionGrad(napi_env env, napi_callback_info info) {
  napi_value argv[14];
  if (!Args(env, info, argv)) return nullptr;
  AttentionShape sh;
  F32 dy, q, k, v, probs, dq, dk, dv;
  double scale_d;
  if (!GetAttentionShape(env, argv, &sh) || !GetF32(env, argv[5], "dy", &dy) || !GetF32(env, argv[6], "q", &q) ||
      !GetF32(env, argv[7], "k", &k) || !GetF32(env, argv[8], "v", &v) || !GetF32(env, argv[9], "probs", &probs) ||
      !GetF32(env, argv[10], "dq", &dq) || !GetF32(env, argv[11], "dk", &dk) || !GetF32(env, argv[12], "dv", &dv) ||
      !GetDouble(env, argv[13], "scale", &scale_d))
    return nullptr;
  const int64_t B = sh.B, H = sh.H, Tq = sh.Tq, Tk = sh.Tk, dh = sh.dh, d = sh.d();
  const int64_t tokens = B * Tq * d, cache = B * H * Tk * dh;
  if (static_cast<int64_t>(dy.length) != tokens || static_cast<int64_t>(q.length) != tokens ||
      static_cast<int64_t>(dq.length) != tokens || static_cast<int64_t>(k.length) != cache ||
      static_cast<int64_t>(v.length) != cache || static_cast<int64_t>(dk.length) != cache ||
      static_cast<int64_t>(dv.length) != cache || static_cast<int64_t>(probs.length) != B * H * Tq * Tk) {
    Throw(env, "attentionGrad: array lengths do not match the shape");
    return nullptr;
  }
  const float scale = static_cast<float>(scale_d);
  auto run = [&](int64_t u0, int64_t u1) {
    thread_local std::vector<float> dp, ds;
    dp.resize(static_cast<size_t>(Tq * Tk));
    ds.resize(static_cast<size_t>(Tq * Tk));
    for (int64_t u = u0; u < u1; ++u) {
      const int64_t b = u / H, h = u % H;
      const int64_t tok = b * Tq * d + h * dh;
      const float* P = probs.data + u * Tq * Tk;
      Sgemm(true, false, Tk, dh, Tq, P, Tk, dy.data + tok, d, dv.data + u * Tk * dh, dh);
      Sgemm(false, true, Tq, Tk, dh, dy.data + tok, d, v.data + u * Tk * dh, dh, dp.data(), Tk);
      SoftmaxGradRows(dp.data(), P, ds.data(), 0, Tq, Tk, scale);
      Sgemm(false, false, Tq, dh, Tk, ds.data(), Tk, k.data + u * Tk * dh, dh, dq.data + tok, d);
      Sgemm(true, false, Tk, dh, Tq, ds.data(), Tk, q.data + tok, d, dk.data + u * Tk * dh, dh);
    }
  };
  RunChunked(B * H, PartsFor(B * H * Tq * Tk * dh * 4), run);
  return Undefined(env);
}

napi_value Init(napi_env env, napi_value exports) {
#if VZERO_HAVE_OPENBLAS
  openblas_set_num_threads(1);
#endif
  const napi_property_descriptor props[] = {
      {"info", nullptr, Info, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"setThreads", nullptr, SetThreads, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"setGemm", nullptr, SetGemm, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"matmul", nullptr, Matmul, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"transpose", nullptr, Transpose, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"softmax", nullptr, Softmax, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"gather", nullptr, Gather, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"split", nullptr, SplitOrConcat<true>, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"concat", nullptr, SplitOrConcat<false>, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"reduce", nullptr, Reduce, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"layerNorm", nullptr, LayerNorm, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"layerNormGrad", nullptr, LayerNormGrad, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"adamw", nullptr, AdamW, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"scaledMaskedSoftmax", nullptr, ScaledMaskedSoftmax, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"scaledMaskedSoftmaxGrad", nullptr, ScaledMaskedSoftmaxGrad, nullptr, nullptr, nullptr, napi_default,
       nullptr},
      {"logSoftmax", nullptr, LogSoftmax, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"logSoftmaxGrad", nullptr, LogSoftmaxGrad, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"attention", nullptr, Attention, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"attentionGrad", nullptr, AttentionGrad, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"attentionAppend", nullptr, AttentionAppend, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
