// Reference walker for bench/dt.bench.ts: visits every node and property of a blob with libfdt
// (name and value of each), repeatedly, and prints nanoseconds per full walk.
// Build: gcc -O2 -o fdt-walk fdt-walk.c -lfdt     Run: fdt-walk <blob.dtb> [min-ms]
#include <libfdt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* One walk: every node (name), every property (name, value, length). Returns a checksum. */
static uint64_t walk(const void *fdt, uint64_t *nodes, uint64_t *props)
{
	uint64_t sum = 0;
	int depth = 0, node, prop, len;

	*nodes = *props = 0;
	for (node = 0; node >= 0; node = fdt_next_node(fdt, node, &depth)) {
		const char *name = fdt_get_name(fdt, node, &len);
		(*nodes)++;
		sum += (uint64_t)len + (name ? (unsigned char)name[0] : 0);
		fdt_for_each_property_offset(prop, fdt, node) {
			const char *pname;
			const uint8_t *val = fdt_getprop_by_offset(fdt, prop, &pname, &len);
			(*props)++;
			sum += (uint64_t)len + (unsigned char)pname[0] + (len > 0 ? val[0] : 0);
		}
	}
	return sum;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s <blob.dtb> [min-ms]\n", argv[0]);
		return 2;
	}
	double min_ns = (argc > 2 ? atof(argv[2]) : 300.0) * 1e6;
	FILE *f = fopen(argv[1], "rb");
	if (!f) {
		perror(argv[1]);
		return 1;
	}
	fseek(f, 0, SEEK_END);
	long size = ftell(f);
	fseek(f, 0, SEEK_SET);
	void *fdt = malloc(size);
	if (!fdt || fread(fdt, 1, size, f) != (size_t)size) {
		fprintf(stderr, "read failed\n");
		return 1;
	}
	fclose(f);
	if (fdt_check_header(fdt) != 0) {
		fprintf(stderr, "bad blob\n");
		return 1;
	}

	uint64_t nodes, props, sum = 0, iters = 0;
	sum += walk(fdt, &nodes, &props); /* warm-up */
	double start = now_ns(), elapsed = 0;
	while (elapsed < min_ns) {
		sum += walk(fdt, &nodes, &props);
		iters++;
		elapsed = now_ns() - start;
	}
	printf("{\"nsPerWalk\": %.1f, \"nodes\": %llu, \"props\": %llu, \"iters\": %llu, \"checksum\": %llu}\n",
	       elapsed / iters, (unsigned long long)nodes, (unsigned long long)props,
	       (unsigned long long)iters, (unsigned long long)sum);
	free(fdt);
	return 0;
}
