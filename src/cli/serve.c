/* memshim report --serve: the HTML page for a browser on a headless server. A single-threaded
 * HTTP/1.0 server on 127.0.0.1 only (reach it from a laptop through ssh -L): GET / returns the
 * page, anything else 404; one request per connection; SIGINT or SIGTERM end it. Loopback only,
 * because the page holds the process's command line and code paths. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "cli.h"

static volatile sig_atomic_t ms_serve_stop;
static void ms_serve_on_signal(int sig) { ms_serve_stop = sig; }

static int ms_send_all(int fd, const char *p, size_t n) {
  while (n) {
    ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR && !ms_serve_stop) continue;
      return -1;
    }
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

/* The page from its file descriptor, after the head. */
static int ms_send_page(int c, int page, size_t size) {
  char head[256], buf[65536];
  int n = snprintf(head, sizeof head,
                   "HTTP/1.0 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: %zu\r\n"
                   "Cache-Control: no-store\r\nConnection: close\r\n\r\n",
                   size);
  if (ms_send_all(c, head, (size_t)n) != 0) return -1;
  for (off_t off = 0; (size_t)off < size;) {
    ssize_t r = pread(page, buf, sizeof buf, off);
    if (r <= 0) return -1;
    if (ms_send_all(c, buf, (size_t)r) != 0) return -1;
    off += r;
  }
  return 0;
}

/* Reads the request head (up to a blank line, 8 KiB at most, 10 s at most: a silent client must
 * not hold the only thread) and answers it. Returns 1 when the page was sent. */
static int ms_serve_one(int c, int page, size_t size) {
  char req[8192];
  size_t len = 0;
  struct timeval tv = {.tv_sec = 10};
  setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  while (len < sizeof req - 1) {
    ssize_t r = recv(c, req + len, sizeof req - 1 - len, 0);
    if (r < 0 && errno == EINTR && !ms_serve_stop) continue;
    if (r <= 0) break;
    len += (size_t)r;
    req[len] = 0;
    if (strstr(req, "\r\n\r\n") || strstr(req, "\n\n")) break;
  }
  req[len] = 0;
  char method[16] = "", target[1024] = "";
  if (sscanf(req, "%15s %1023s", method, target) < 2) {
    static const char bad[] = "HTTP/1.0 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    ms_send_all(c, bad, sizeof bad - 1);
    return 0;
  }
  if (!strcmp(method, "GET") && (!strcmp(target, "/") || !strncmp(target, "/?", 2) || !strncmp(target, "/#", 2)))
    return ms_send_page(c, page, size) == 0;
  static const char nf[] = "HTTP/1.0 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 42\r\n"
                           "Connection: close\r\n\r\nnot found: memshim serves its report at /\n";
  ms_send_all(c, nf, sizeof nf - 1);
  return 0;
}

int ms_cli_serve_page(int page, unsigned port, int once) {
  struct stat st;
  if (fstat(page, &st) != 0) return MS_EXIT_FAIL;
  int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0) {
    fprintf(stderr, "memshim report: socket: %s\n", strerror(errno));
    return MS_EXIT_FAIL;
  }
  int one = 1;
  setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t alen = sizeof a;
  if (bind(s, (struct sockaddr *)&a, sizeof a) != 0 || listen(s, 8) != 0 ||
      getsockname(s, (struct sockaddr *)&a, &alen) != 0) {
    fprintf(stderr, "memshim report: cannot listen on 127.0.0.1:%u: %s\n", port, strerror(errno));
    close(s);
    return MS_EXIT_FAIL;
  }
  unsigned p = ntohs(a.sin_port);
  char host[256] = "HOST";
  if (gethostname(host, sizeof host) != 0 || !*host) snprintf(host, sizeof host, "HOST");
  host[sizeof host - 1] = 0;
  printf("memshim report: serving the page on http://127.0.0.1:%u/ (127.0.0.1 only; Ctrl-C stops)\n"
         "  from your own machine: ssh -L %u:127.0.0.1:%u %s, then open http://127.0.0.1:%u/\n",
         p, p, p, host, p);
  fflush(stdout);

  struct sigaction sa = {.sa_handler = ms_serve_on_signal}; /* no SA_RESTART: accept returns EINTR */
  sigemptyset(&sa.sa_mask);
  struct sigaction old_int, old_term;
  sigaction(SIGINT, &sa, &old_int);
  sigaction(SIGTERM, &sa, &old_term);
  int rc = MS_EXIT_OK;
  while (!ms_serve_stop) {
    int c = accept4(s, NULL, NULL, SOCK_CLOEXEC);
    if (c < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      fprintf(stderr, "memshim report: accept: %s\n", strerror(errno));
      rc = MS_EXIT_FAIL;
      break;
    }
    int sent = ms_serve_one(c, page, (size_t)st.st_size);
    shutdown(c, SHUT_WR);
    close(c);
    if (sent && once) break;
  }
  sigaction(SIGINT, &old_int, NULL);
  sigaction(SIGTERM, &old_term, NULL);
  close(s);
  if (ms_serve_stop) fprintf(stderr, "memshim report: stopped (%s)\n", ms_serve_stop == SIGINT ? "SIGINT" : "SIGTERM");
  return rc;
}
