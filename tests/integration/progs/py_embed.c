/* An embedding host that loads libpython after start-up: dlopen(argv[1], RTLD_GLOBAL), wait until
 * the file argv[2] (memshim's log) says the interpreter was found, then run Python code that
 * allocates in a named function (tests/integration/py_embed.sh). Exit 0, 2 on a load failure, 3
 * when the log never says so within 30 s. */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int log_says(const char *path, const char *what) {
  char buf[8192];
  FILE *f = fopen(path, "r");
  if (!f) return 0;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  return strstr(buf, what) != NULL;
}

int main(int argc, char **argv) {
  if (argc < 3) return 2;
  void *py = dlopen(argv[1], RTLD_NOW | RTLD_GLOBAL);
  if (!py) {
    fprintf(stderr, "py_embed: %s\n", dlerror());
    return 2;
  }
  void (*init)(void) = (void (*)(void))dlsym(py, "Py_Initialize");
  int (*run)(const char *) = (int (*)(const char *))dlsym(py, "PyRun_SimpleString");
  int (*fini)(void) = (int (*)(void))dlsym(py, "Py_FinalizeEx");
  if (!init || !run || !fini) return 2;
  for (int i = 0; !log_says(argv[2], "Python call sites on"); i++) {
    if (i == 3000) return 3;
    struct timespec ts = {0, 10 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  init();
  int rc = run("keep = []\n"
               "def embedded_work():\n"
               "    keep.append(bytearray(3000001))\n"
               "embedded_work()\n");
  fini();
  return rc == 0 ? 0 : 1;
}
