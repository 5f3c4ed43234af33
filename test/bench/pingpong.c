/* SPDX-License-Identifier: BSD-3-Clause
 *
 * pingpong - one TCP connection, 1-byte request/response round trips.
 * usage: pingpong ADDR PORT COUNT [GAP_US]
 * GAP_US: a pause between round trips (the server idles in between).
 * Prints one JSON object: count, p50/p99/p999/max in microseconds.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int
main(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	uint64_t *lat;
	long count, gap_us = 0;
	int fd, one = 1;
	char c = 'x';

	if (argc == 5)
		gap_us = strtol(argv[4], NULL, 10);
	if (argc < 4 || argc > 5 || inet_pton(AF_INET, argv[1], &sa.sin_addr) != 1 ||
	    (count = strtol(argv[3], NULL, 10)) <= 0 || gap_us < 0) {
		fprintf(stderr, "usage: pingpong ADDR PORT COUNT [GAP_US]\n");
		return 2;
	}
	sa.sin_port = htons((uint16_t)atoi(argv[2]));
	lat = calloc((size_t)count, sizeof(*lat));
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (lat == NULL || fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		perror("pingpong: connect");
		return 1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	for (long i = 0; i < count; i++) {
		uint64_t t0;

		if (gap_us > 0)
			usleep((useconds_t)gap_us);
		t0 = now_ns();

		if (write(fd, &c, 1) != 1 || read(fd, &c, 1) != 1) {
			perror("pingpong: round trip");
			return 1;
		}
		lat[i] = now_ns() - t0;
	}
	close(fd);
	qsort(lat, (size_t)count, sizeof(*lat), cmp_u64);
	printf("{\"count\": %ld, \"p50_us\": %.1f, \"p99_us\": %.1f, \"p999_us\": %.1f, \"max_us\": %.1f}\n",
	       count, lat[count / 2] / 1e3, lat[count * 99 / 100] / 1e3,
	       lat[count * 999 / 1000] / 1e3, lat[count - 1] / 1e3);
	free(lat);
	return 0;
}
