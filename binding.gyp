{
  "targets": [
    {
      "target_name": "joule",
      "sources": ["<!@(node scripts/native-sources.js)"],
      "include_dirs": ["native", "<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": [
        "NAPI_VERSION=8",
        "NODE_ADDON_API_DISABLE_DEPRECATED",
        "NAPI_CPP_EXCEPTIONS",
        "JOULE_BUILD_SYSTEM=\"node-gyp\"",
        "JOULE_CUDA_BUILD=\"not built: node-gyp builds the CPU-only addon (use cmake-js for CUDA)\""
      ],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc": ["-std=c++17", "-O3", "-fexceptions"],
      "libraries": ["-ldl", "-lpthread", "-lrt"]
    }
  ]
}
