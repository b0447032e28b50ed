{
  "targets": [
    {
      "target_name": "hapoll",
      "sources": [
        "native/addon.cc",
        "native/ev_poll.cc",
        "native/ev_select.cc",
        "native/sock.cc",
        "native/signal.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags_cc": ["-std=c++17", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "conditions": [
        ["OS=='linux'", {"sources": ["native/ev_epoll.cc"], "defines": ["HAVE_EPOLL", "HAVE_SPLICE", "HAVE_ACCEPT4"]}],
        ["OS=='mac' or OS=='freebsd' or OS=='openbsd'", {"sources": ["native/ev_kqueue.cc"], "defines": ["HAVE_KQUEUE"]}],
        ["OS=='mac'", {"xcode_settings": {"CLANG_CXX_LANGUAGE_STANDARD": "c++17", "MACOSX_DEPLOYMENT_TARGET": "11.0", "GCC_OPTIMIZATION_LEVEL": "2"}}]
      ]
    }
  ]
}
