{
  "targets": [
    {
      "target_name": "tfjs_native",
      "sources": ["src/native/addon.cc"],
      "cflags": ["<!@(node scripts/blas-flags.mjs cflags)"],
      "cflags_cc": ["-O3", "-std=c++17", "-fno-trapping-math", "-ffp-contract=off"],
      "libraries": ["<!@(node scripts/blas-flags.mjs libs)"]
    }
  ]
}
