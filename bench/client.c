/*
 * The bench's client: the process that touches the mounts, so that no daemon ever serves its own
 * requests and every target (apsysfs, the hello baseline, tmpfs, real sysfs) is driven by the
 * same loop. bench/client.js is the same program in Node for machines without a C compiler.
 *
 *   client read  N BATCHES PATH...
 *       cat-style: open(O_RDONLY), read until EOF, close. A batch is N rounds; a round opens
 *       each PATH once, in turn, so that noise from the machine hits every target alike.
 *   client write N BATCHES -- OP... [-- OP...]...
 *       echo-style: open(O_WRONLY|O_CREAT|O_TRUNC), one write(2), close, as a shell's `>` does.
 *       Each `--` starts a target, a sequence of OPs run as one unit:
 *         w FILE VALUE   the write must succeed
 *         x FILE VALUE   the write must fail (the errno is reported)
 *       FILE written DIR//NAME opens NAME relative to DIR (opened once, O_PATH): what a shell
 *       whose cwd is DIR does, one path component to look up instead of all.
 *   client once FILE VALUE
 *       one echo-style write, no warm-up (for writes that change state, such as an apmask that
 *       rebinds every queue); prints "<ns> <errno or 0>".
 *   client wait PATH TIMEOUT_MS
 *       prints "polling" once started, then stats PATH every millisecond; prints
 *       "ok <CLOCK_MONOTONIC ns>" at the first success, or "timeout" (exit 1).
 *
 * read and write run one untimed batch per target first (it fails early, and the daemon's JIT
 * warms up), then print one line per target:
 *   <index> <median ns per unit> <min> <max> <units> <errno of the last refused write or 0>
 * where median/min/max are over the batches' per-unit means.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void die(const char *what, const char *path) {
  fprintf(stderr, "client: %s %s: %s\n", what, path, strerror(errno));
  exit(2);
}

static int cmp_ll(const void *a, const void *b) {
  long long x = *(const long long *)a, y = *(const long long *)b;
  return x < y ? -1 : x > y;
}

static void report(int index, long long *per_unit, int batches, long units, int refused_errno) {
  qsort(per_unit, batches, sizeof *per_unit, cmp_ll);
  long long median = batches % 2 ? per_unit[batches / 2] : (per_unit[batches / 2 - 1] + per_unit[batches / 2]) / 2;
  printf("%d %lld %lld %lld %ld %d\n", index, median, per_unit[0], per_unit[batches - 1], units, refused_errno);
}

static void cat_once(const char *path) {
  char buf[4096];
  int fd = open(path, O_RDONLY);
  if (fd < 0) die("open", path);
  ssize_t got;
  while ((got = read(fd, buf, sizeof buf)) > 0) {}
  if (got < 0) die("read", path);
  if (close(fd) < 0) die("close", path);
}

/* Returns 0 or the errno of the failed open/write/close. `path` is relative to `dirfd`. */
static int echo_at(int dirfd, const char *path, const char *value, size_t len) {
  int fd = openat(dirfd, path, O_WRONLY | O_CREAT | O_TRUNC, 0666);
  if (fd < 0) return errno;
  int err = 0;
  ssize_t put = write(fd, value, len);
  if (put < 0) err = errno;
  else if ((size_t)put != len) err = EIO;
  if (close(fd) < 0 && !err) err = errno;
  return err;
}

static int cmd_read(int n, int batches, int paths, char **path) {
  long long *t = calloc((size_t)paths * batches, sizeof *t);
  /* One untimed batch per path first: fails early, and lets the daemon's JIT warm up. */
  for (int p = 0; p < paths; p++)
    for (int i = 0; i < n; i++) cat_once(path[p]);
  for (int b = 0; b < batches; b++) {
    for (int i = 0; i < n; i++)
      for (int p = 0; p < paths; p++) {
        long long t0 = now_ns();
        cat_once(path[p]);
        t[p * batches + b] += now_ns() - t0;
      }
    for (int p = 0; p < paths; p++) t[p * batches + b] /= n;
  }
  for (int p = 0; p < paths; p++) report(p, t + p * batches, batches, (long)n * batches, 0);
  return 0;
}

static int echo_once(const char *path, const char *value, size_t len) {
  return echo_at(AT_FDCWD, path, value, len);
}

struct op { char kind; int dirfd; const char *path; char *value; size_t len; };
struct target { struct op *ops; int count; int refused_errno; };

static void run_target(struct target *tg) {
  for (int i = 0; i < tg->count; i++) {
    struct op *op = &tg->ops[i];
    int err = echo_at(op->dirfd, op->path, op->value, op->len);
    if (op->kind == 'w' && err) { errno = err; die("write", op->path); }
    if (op->kind == 'x') {
      if (!err) { fprintf(stderr, "client: write %s: accepted, expected a refusal\n", op->path); exit(2); }
      tg->refused_errno = err;
    }
  }
}

static int cmd_write(int n, int batches, int argc, char **argv) {
  struct target *tg = calloc((size_t)argc, sizeof *tg);
  int targets = 0;
  for (int i = 0; i < argc;) {
    if (strcmp(argv[i], "--")) { fprintf(stderr, "client: write: expected --, got %s\n", argv[i]); return 2; }
    struct target *cur = &tg[targets++];
    cur->ops = calloc((size_t)argc, sizeof *cur->ops);
    i++;
    while (i < argc && strcmp(argv[i], "--")) {
      if (i + 2 >= argc || (strcmp(argv[i], "w") && strcmp(argv[i], "x"))) {
        fprintf(stderr, "client: write: expected w|x FILE VALUE at %s\n", argv[i]);
        return 2;
      }
      struct op *op = &cur->ops[cur->count++];
      op->kind = argv[i][0];
      op->path = argv[i + 1];
      op->dirfd = AT_FDCWD;
      char *split = strstr(argv[i + 1], "//");
      if (split) {
        *split = '\0';
        op->dirfd = open(argv[i + 1], O_PATH | O_DIRECTORY);
        if (op->dirfd < 0) die("open", argv[i + 1]);
        op->path = split + 2;
      }
      op->len = strlen(argv[i + 2]) + 1;
      op->value = malloc(op->len + 1);
      snprintf(op->value, op->len + 1, "%s\n", argv[i + 2]); /* echo adds the newline */
      i += 3;
    }
  }
  long long *t = calloc((size_t)targets * batches, sizeof *t);
  for (int p = 0; p < targets; p++) /* an untimed batch first, as for reads */
    for (int i = 0; i < n; i++) run_target(&tg[p]);
  for (int b = 0; b < batches; b++) {
    for (int i = 0; i < n; i++)
      for (int p = 0; p < targets; p++) {
        long long t0 = now_ns();
        run_target(&tg[p]);
        t[p * batches + b] += now_ns() - t0;
      }
    for (int p = 0; p < targets; p++) t[p * batches + b] /= n;
  }
  for (int p = 0; p < targets; p++) report(p, t + p * batches, batches, (long)n * batches, tg[p].refused_errno);
  return 0;
}

static int cmd_wait(const char *path, long timeout_ms) {
  struct stat st;
  struct timespec ms = { 0, 1000000 };
  long long deadline = now_ns() + timeout_ms * 1000000LL;
  printf("polling\n");
  fflush(stdout);
  while (now_ns() < deadline) {
    if (stat(path, &st) == 0) {
      printf("ok %lld\n", now_ns());
      return 0;
    }
    nanosleep(&ms, NULL);
  }
  printf("timeout\n");
  return 1;
}

static int cmd_once(const char *path, const char *value) {
  size_t len = strlen(value) + 1;
  char *line = malloc(len + 1);
  snprintf(line, len + 1, "%s\n", value);
  long long t0 = now_ns();
  int err = echo_once(path, line, len);
  printf("%lld %d\n", now_ns() - t0, err);
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 4 && !strcmp(argv[1], "once")) return cmd_once(argv[2], argv[3]);
  if (argc >= 4 && !strcmp(argv[1], "wait")) return cmd_wait(argv[2], atol(argv[3]));
  if (argc >= 5) {
    int n = atoi(argv[2]), batches = atoi(argv[3]);
    if (n > 0 && batches > 0) {
      if (!strcmp(argv[1], "read")) return cmd_read(n, batches, argc - 4, argv + 4);
      if (!strcmp(argv[1], "write")) return cmd_write(n, batches, argc - 4, argv + 4);
    }
  }
  fprintf(stderr, "usage: client read N BATCHES PATH...\n"
                  "       client write N BATCHES -- {w|x FILE VALUE}... [-- ...]\n"
                  "       client once FILE VALUE\n"
                  "       client wait PATH TIMEOUT_MS\n");
  return 2;
}
