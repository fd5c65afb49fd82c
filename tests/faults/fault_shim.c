/* Fault injection for the tests of xrun's write paths, loaded with LD_PRELOAD.
 *
 * The calls that change files (write, pwrite, writev, fsync, fdatasync, rename, link, mkdir,
 * and open/creat with a flag that writes or creates) are counted; the XRUN_FAULT_CALL-th
 * counted one fails with XRUN_FAULT_ERRNO instead of reaching the C library. Settings:
 *
 *   XRUN_FAULT_CALL=N        the call to fail (1-based); 0 or unset: count only
 *   XRUN_FAULT_ERRNO=NAME    ENOSPC (default), EIO, EACCES, EFBIG, EDQUOT or EROFS
 *   XRUN_FAULT_PERSIST=1     every counted call from the Nth on fails (a disk that stays full)
 *   XRUN_FAULT_ONLY=a,b      count only these functions (write,pwrite,writev,fsync,fdatasync,
 *                            rename,link,mkdir,open: each name covers its *at / 64 variants)
 *   XRUN_FAULT_PATH=text     count only calls on a path containing `text` (for a descriptor,
 *                            the path it was opened with, as /proc/self/fd shows it)
 *   XRUN_FAULT_COUNT_FILE=p  the shared counter: a file of one 64-bit count, mapped by every
 *                            process, so the supervisor, the experiment it forks without exec,
 *                            their threads and any process they exec count together, and the
 *                            caller reads the total afterwards
 *
 * Without a count file, the counter lives in anonymous shared memory made by the first process:
 * shared across fork (xrun's supervisor and its experiment), counted anew after an exec.
 * The shim's own calls (readlink, getcwd, the counter's file) use syscalls it does not count.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

enum kind {
  k_write,
  k_pwrite,
  k_writev,
  k_fsync,
  k_fdatasync,
  k_rename,
  k_link,
  k_mkdir,
  k_open,
  k_kinds
};
static const char* const kind_names[k_kinds] = {"write",  "pwrite", "writev", "fsync", "fdatasync",
                                                "rename", "link",   "mkdir",  "open"};

static struct {
  int ready;
  uint64_t fail_at;
  int persist;
  int error;
  unsigned kinds; /* bit per enum kind */
  const char* path;
  uint64_t* counter;
} config;

static int name_to_errno(const char* name) {
  static const struct {
    const char* name;
    int value;
  } names[] = {{"ENOSPC", ENOSPC}, {"EIO", EIO},       {"EACCES", EACCES},
               {"EFBIG", EFBIG},   {"EDQUOT", EDQUOT}, {"EROFS", EROFS}};
  for (size_t i = 0; name && i < sizeof names / sizeof names[0]; ++i) {
    if (strcmp(name, names[i].name) == 0) {
      return names[i].value;
    }
  }
  return ENOSPC;
}

static unsigned parse_kinds(const char* list) {
  if (!list || !*list) {
    return (1u << k_kinds) - 1;
  }
  unsigned kinds = 0;
  for (int k = 0; k < k_kinds; ++k) {
    const size_t length = strlen(kind_names[k]);
    for (const char* at = list; (at = strstr(at, kind_names[k])) != NULL; at += length) {
      const int starts = at == list || at[-1] == ',';
      const int ends = at[length] == '\0' || at[length] == ',';
      if (starts && ends) {
        kinds |= 1u << k;
      }
    }
  }
  return kinds;
}

/* The counter every process shares: the count file mapped (made 8 bytes long when shorter),
 * else anonymous shared memory inherited across fork. */
static uint64_t* map_counter(const char* file) {
  if (file && *file) {
    const int fd = (int)syscall(SYS_openat, AT_FDCWD, file, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd >= 0) {
      struct stat info;
      if (fstat(fd, &info) == 0 && info.st_size < (off_t)sizeof(uint64_t)) {
        (void)syscall(SYS_ftruncate, fd, (long)sizeof(uint64_t));
      }
      void* shared = mmap(NULL, sizeof(uint64_t), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
      (void)syscall(SYS_close, fd);
      if (shared != MAP_FAILED) {
        return shared;
      }
    }
  }
  void* shared =
      mmap(NULL, sizeof(uint64_t), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  return shared == MAP_FAILED ? NULL : shared;
}

__attribute__((constructor)) static void setup(void) {
  const char* call = getenv("XRUN_FAULT_CALL");
  config.fail_at = call ? strtoull(call, NULL, 10) : 0;
  const char* persist = getenv("XRUN_FAULT_PERSIST");
  config.persist = persist && *persist && strcmp(persist, "0") != 0;
  config.error = name_to_errno(getenv("XRUN_FAULT_ERRNO"));
  config.kinds = parse_kinds(getenv("XRUN_FAULT_ONLY"));
  const char* path = getenv("XRUN_FAULT_PATH");
  config.path = path && *path ? path : NULL;
  config.counter = map_counter(getenv("XRUN_FAULT_COUNT_FILE"));
  config.ready = config.counter != NULL;
}

/* The path `fd` was opened with, or "" when /proc cannot say. */
static void fd_path(int fd, char* buffer, size_t size) {
  char proc_link[64];
  snprintf(proc_link, sizeof proc_link, "/proc/self/fd/%d", fd);
  const long length = syscall(SYS_readlinkat, AT_FDCWD, proc_link, buffer, size - 1);
  buffer[length > 0 ? length : 0] = '\0';
}

/* `path` as seen from `dirfd`: absolute paths as they are, relative ones after the folder. */
static int path_matches(int dirfd, const char* path) {
  if (!config.path) {
    return 1;
  }
  if (!path) {
    return 0;
  }
  if (strstr(path, config.path)) {
    return 1;
  }
  if (path[0] == '/') {
    return 0;
  }
  char folder[4096];
  if (dirfd == AT_FDCWD) {
    if (syscall(SYS_getcwd, folder, sizeof folder) < 0) {
      return 0;
    }
  } else {
    fd_path(dirfd, folder, sizeof folder);
  }
  return strstr(folder, config.path) != NULL;
}

static int fd_matches(int fd) {
  if (!config.path) {
    return 1;
  }
  char path[4096];
  fd_path(fd, path, sizeof path);
  return strstr(path, config.path) != NULL;
}

/* Counts a matching call; whether it is the one (or, persisting, one of those) to fail. */
static int should_fail(enum kind kind, int matches) {
  if (!config.ready || !(config.kinds & (1u << kind)) || !matches) {
    return 0;
  }
  const uint64_t n = __atomic_add_fetch(config.counter, 1, __ATOMIC_SEQ_CST);
  return config.fail_at != 0 && (n == config.fail_at || (config.persist && n > config.fail_at));
}

static int opens_to_write(int flags) {
  return (flags & (O_WRONLY | O_RDWR | O_CREAT | O_TRUNC | O_APPEND)) != 0 ||
         (flags & O_TMPFILE) == O_TMPFILE;
}

/* The C library's function, looked up once per function. */
#define REAL(name)                                                                                 \
  (__extension__({                                                                                 \
    static __typeof__(&name) real_##name;                                                          \
    if (!real_##name) {                                                                            \
      real_##name = (__typeof__(&name))dlsym(RTLD_NEXT, #name);                                    \
    }                                                                                              \
    real_##name;                                                                                   \
  }))
#define FAIL_IF(condition, result)                                                                 \
  do {                                                                                             \
    if (condition) {                                                                               \
      errno = config.error;                                                                        \
      return result;                                                                               \
    }                                                                                              \
  } while (0)

ssize_t write(int fd, const void* data, size_t size) {
  FAIL_IF(should_fail(k_write, fd_matches(fd)), -1);
  return REAL(write)(fd, data, size);
}

ssize_t pwrite(int fd, const void* data, size_t size, off_t offset) {
  FAIL_IF(should_fail(k_pwrite, fd_matches(fd)), -1);
  return REAL(pwrite)(fd, data, size, offset);
}

ssize_t pwrite64(int fd, const void* data, size_t size, off64_t offset) {
  FAIL_IF(should_fail(k_pwrite, fd_matches(fd)), -1);
  return REAL(pwrite64)(fd, data, size, offset);
}

ssize_t writev(int fd, const struct iovec* parts, int count) {
  FAIL_IF(should_fail(k_writev, fd_matches(fd)), -1);
  return REAL(writev)(fd, parts, count);
}

int fsync(int fd) {
  FAIL_IF(should_fail(k_fsync, fd_matches(fd)), -1);
  return REAL(fsync)(fd);
}

int fdatasync(int fd) {
  FAIL_IF(should_fail(k_fdatasync, fd_matches(fd)), -1);
  return REAL(fdatasync)(fd);
}

int rename(const char* from, const char* to) {
  FAIL_IF(should_fail(k_rename, path_matches(AT_FDCWD, from) || path_matches(AT_FDCWD, to)), -1);
  return REAL(rename)(from, to);
}

int renameat(int from_dir, const char* from, int to_dir, const char* to) {
  FAIL_IF(should_fail(k_rename, path_matches(from_dir, from) || path_matches(to_dir, to)), -1);
  return REAL(renameat)(from_dir, from, to_dir, to);
}

int renameat2(int from_dir, const char* from, int to_dir, const char* to, unsigned flags) {
  FAIL_IF(should_fail(k_rename, path_matches(from_dir, from) || path_matches(to_dir, to)), -1);
  return REAL(renameat2)(from_dir, from, to_dir, to, flags);
}

int link(const char* from, const char* to) {
  FAIL_IF(should_fail(k_link, path_matches(AT_FDCWD, to)), -1);
  return REAL(link)(from, to);
}

int linkat(int from_dir, const char* from, int to_dir, const char* to, int flags) {
  FAIL_IF(should_fail(k_link, path_matches(to_dir, to)), -1);
  return REAL(linkat)(from_dir, from, to_dir, to, flags);
}

int mkdir(const char* path, mode_t mode) {
  FAIL_IF(should_fail(k_mkdir, path_matches(AT_FDCWD, path)), -1);
  return REAL(mkdir)(path, mode);
}

int mkdirat(int dir, const char* path, mode_t mode) {
  FAIL_IF(should_fail(k_mkdir, path_matches(dir, path)), -1);
  return REAL(mkdirat)(dir, path, mode);
}

/* The open family: only opens that write or create count. The mode is read only when the
 * flags say one was passed, as the C library does. */
#define OPEN_MODE(flags, mode)                                                                     \
  do {                                                                                             \
    if ((flags)&O_CREAT || ((flags)&O_TMPFILE) == O_TMPFILE) {                                     \
      va_list arguments;                                                                           \
      va_start(arguments, flags);                                                                  \
      mode = va_arg(arguments, mode_t);                                                            \
      va_end(arguments);                                                                           \
    }                                                                                              \
  } while (0)

int open(const char* path, int flags, ...) {
  mode_t mode = 0;
  OPEN_MODE(flags, mode);
  FAIL_IF(opens_to_write(flags) && should_fail(k_open, path_matches(AT_FDCWD, path)), -1);
  return REAL(open)(path, flags, mode);
}

int open64(const char* path, int flags, ...) {
  mode_t mode = 0;
  OPEN_MODE(flags, mode);
  FAIL_IF(opens_to_write(flags) && should_fail(k_open, path_matches(AT_FDCWD, path)), -1);
  return REAL(open64)(path, flags, mode);
}

int openat(int dir, const char* path, int flags, ...) {
  mode_t mode = 0;
  OPEN_MODE(flags, mode);
  FAIL_IF(opens_to_write(flags) && should_fail(k_open, path_matches(dir, path)), -1);
  return REAL(openat)(dir, path, flags, mode);
}

int openat64(int dir, const char* path, int flags, ...) {
  mode_t mode = 0;
  OPEN_MODE(flags, mode);
  FAIL_IF(opens_to_write(flags) && should_fail(k_open, path_matches(dir, path)), -1);
  return REAL(openat64)(dir, path, flags, mode);
}

int creat(const char* path, mode_t mode) {
  FAIL_IF(should_fail(k_open, path_matches(AT_FDCWD, path)), -1);
  return REAL(creat)(path, mode);
}

int creat64(const char* path, mode_t mode) {
  FAIL_IF(should_fail(k_open, path_matches(AT_FDCWD, path)), -1);
  return REAL(creat64)(path, mode);
}

/* The fortified opens that _FORTIFY_SOURCE builds call instead of open and openat. */
int __open_2(const char* path, int flags) {
  FAIL_IF(opens_to_write(flags) && should_fail(k_open, path_matches(AT_FDCWD, path)), -1);
  return REAL(__open_2)(path, flags);
}

int __open64_2(const char* path, int flags) {
  FAIL_IF(opens_to_write(flags) && should_fail(k_open, path_matches(AT_FDCWD, path)), -1);
  return REAL(__open64_2)(path, flags);
}

int __openat_2(int dir, const char* path, int flags) {
  FAIL_IF(opens_to_write(flags) && should_fail(k_open, path_matches(dir, path)), -1);
  return REAL(__openat_2)(dir, path, flags);
}

int __openat64_2(int dir, const char* path, int flags) {
  FAIL_IF(opens_to_write(flags) && should_fail(k_open, path_matches(dir, path)), -1);
  return REAL(__openat64_2)(dir, path, flags);
}
