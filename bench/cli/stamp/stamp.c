/* stamp: a stand-in client that records when it was exec'd. It writes its
 * CLOCK_MONOTONIC time in nanoseconds to <mountpoint>.stamp, where the
 * mount point is the argument after "mount <disk>", and exits. Asked
 * "version" or "status", it answers at once, as a client that is well. */
#include <stdio.h>
#include <string.h>
#include <time.h>

int main(int argc, char **argv) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	if (argc >= 2 && strcmp(argv[1], "version") == 0) {
		puts("Archil Client: v0.8.8 (stamp stand-in)");
		return 0;
	}
	if (argc >= 3 && strcmp(argv[1], "status") == 0) {
		printf("Mount point: %s\nState: mounted\n", argv[2]);
		return 0;
	}
	for (int i = 1; i + 2 < argc; i++) {
		if (strcmp(argv[i], "mount") == 0) {
			char path[4096];
			snprintf(path, sizeof path, "%s.stamp", argv[i + 2]);
			FILE *f = fopen(path, "w");
			if (!f)
				return 2;
			fprintf(f, "%lld\n", (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
			return fclose(f) == 0 ? 0 : 2;
		}
	}
	return 2;
}
