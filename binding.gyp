{
  # <libkqueue>: install prefix of libkqueue (kqueue's API over epoll). Empty for the normal build;
  # scripts/kqueue.sh sets it (node-gyp rebuild -- -Dlibkqueue=<prefix>) to compile the kqueue backend
  # on Linux next to epoll, so that ev_kqueue.cc is built and tested there too.
  "variables": {"libkqueue%": ""},
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
        # Linux-only sources and syscalls (epoll, splice, accept4) stay behind this condition.
        ["OS=='linux'", {"sources": ["native/ev_epoll.cc"], "defines": ["HAVE_EPOLL", "HAVE_SPLICE", "HAVE_ACCEPT4"]}],
        ["OS=='linux' and libkqueue!=''", {
          "sources": ["native/ev_kqueue.cc"],
          "defines": ["HAVE_KQUEUE", "HAPOLL_LIBKQUEUE"],
          "include_dirs": ["<(libkqueue)/include/kqueue"],
          "libraries": ["-L<(libkqueue)/lib", "-lkqueue", "-Wl,-rpath,<(libkqueue)/lib"]
        }],
        ["OS=='mac' or OS=='freebsd' or OS=='openbsd'", {"sources": ["native/ev_kqueue.cc"], "defines": ["HAVE_KQUEUE"]}],
        # Off Linux, accept4/splice/pipe2 are not assumed: sock.cc and signal.cc fall back to accept/pipe +
        # fcntl and splice() returns -ENOSYS. The make generator (FreeBSD, OpenBSD) uses cflags_cc above.
        ["OS=='mac'", {"xcode_settings": {
          "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
          "CLANG_CXX_LIBRARY": "libc++",
          "MACOSX_DEPLOYMENT_TARGET": "11.0",
          "GCC_OPTIMIZATION_LEVEL": "2",
          "WARNING_CFLAGS": ["-Wall", "-Wextra", "-Wno-unused-parameter"]
        }}]
      ]
    }
  ]
}
