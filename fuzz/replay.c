/* replay.c — main() for a fuzz target outside libFuzzer: runs
 * LLVMFuzzerTestOneInput on every file named on the command line and on
 * every file in the directories named (sorted by name), so `make test`
 * replays the committed corpora with gcc and ASan+UBSan.  A violated
 * invariant aborts (the line before it names the input); at the end it
 * prints "# N passed, 0 failed" for tests/run.sh. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int passed;

static void replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		perror(path);
		printf("# %d passed, 1 failed\n", passed);
		exit(1);
	}
	size_t cap = 4096, n = 0;
	unsigned char *buf = malloc(cap);
	for (;;) {
		if (!buf) abort();
		size_t got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (n < cap) break;
		cap *= 2;
		buf = realloc(buf, cap);
	}
	fclose(f);
	/* An exact-size copy, so that ASan sees any read past the input. */
	unsigned char *data = malloc(n ? n : 1);
	if (!data) abort();
	memcpy(data, buf, n);
	free(buf);
	printf("replay %s (%zu bytes)\n", path, n);
	fflush(stdout);
	LLVMFuzzerTestOneInput(data, n);
	free(data);
	passed++;
}

static int only_files(const struct dirent *e) { return e->d_name[0] != '.'; }

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE-OR-DIRECTORY...\n", argv[0]);
		return 2;
	}
	for (int i = 1; i < argc; i++) {
		struct stat st;
		if (stat(argv[i], &st)) {
			perror(argv[i]);
			printf("# %d passed, 1 failed\n", passed);
			return 1;
		}
		if (!S_ISDIR(st.st_mode)) {
			replay_file(argv[i]);
			continue;
		}
		struct dirent **names;
		int n = scandir(argv[i], &names, only_files, alphasort);
		if (n < 0) {
			perror(argv[i]);
			printf("# %d passed, 1 failed\n", passed);
			return 1;
		}
		for (int k = 0; k < n; k++) {
			size_t len = strlen(argv[i]) + strlen(names[k]->d_name) + 2;
			char *p = malloc(len);
			if (!p) abort();
			snprintf(p, len, "%s/%s", argv[i], names[k]->d_name);
			if (!stat(p, &st) && S_ISREG(st.st_mode)) replay_file(p);
			free(p);
			free(names[k]);
		}
		free(names);
	}
	if (!passed) {
		printf("no input replayed\n# 0 passed, 1 failed\n");
		return 1;
	}
	printf("# %d passed, 0 failed\n", passed);
	return 0;
}
