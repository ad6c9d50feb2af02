/* rusage.c — run a command and write its own peak RSS and CPU time.
 *
 *   rusage OUTFILE COMMAND [ARG]...
 *
 * Forks, runs COMMAND, and writes "maxrss_kb user_s sys_s" of that child to
 * OUTFILE; exits with its status (128 + signal if killed).  bench.py runs
 * every tool through it because Linux carries ru_maxrss across execve: a
 * tool forked straight from the (large) Python driver reports the driver's
 * peak RSS as its own when it is smaller.  Forked from this small process,
 * the child's figure is its own. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 3) {
		fputs("usage: rusage OUTFILE COMMAND [ARG]...\n", stderr);
		return 2;
	}
	pid_t pid = fork();
	if (pid < 0) {
		perror("rusage: fork");
		return 127;
	}
	if (pid == 0) {
		execvp(argv[2], argv + 2);
		perror(argv[2]);
		_exit(127);
	}
	int status;
	struct rusage ru;
	if (wait4(pid, &status, 0, &ru) < 0) {
		perror("rusage: wait4");
		return 127;
	}
	FILE *f = fopen(argv[1], "w");
	if (!f || fprintf(f, "%ld %.6f %.6f\n", ru.ru_maxrss, ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6,
	                  ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6) < 0 || fclose(f)) {
		perror(argv[1]);
		return 127;
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
