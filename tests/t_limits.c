/* What the process may use (limits.c): memory and CPU limits read from
 * made-up /proc/self and cgroup trees (v2 with the lowest limit up the
 * hierarchy and "max", v2 in a namespace whose mount root is the
 * container's cgroup, v1 in a hybrid layout with controllers sharing a
 * hierarchy and a mount point with an escaped space, no cgroup at all), and
 * on this machine figures within the machine's. */
#include <math.h>
#include <sys/stat.h>
#include <unistd.h>
#include "test.h"
#include "reprint.h"
#include "internal.h"

static char base[512];

/* Write content to base/tree/rel, making the directories on the way. */
static void put(const char *tree, const char *rel, const char *content)
{
	char path[1024];
	snprintf(path, sizeof path, "%s/%s/%s", base, tree, rel);
	for (char *q = path + 1; (q = strchr(q, '/')); q++) {
		*q = 0;
		mkdir(path, 0755);
		*q = '/';
	}
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	if (!f) return;
	fputs(content, f);
	fclose(f);
}

static const char *tree(const char *name)
{
	static char root[600];
	snprintf(root, sizeof root, "%s/%s", base, name);
	return root;
}

static void test_no_cgroup(void)
{
	put("none", "proc/self/status", "Name: x\n"); /* no proc/self/cgroup */
	CHECK(rp_cgroup_memory_limit(tree("none")) == UINT64_MAX);
	CHECK(isinf(rp_cgroup_cpu_limit(tree("none"))));
}

static void test_v2(void)
{
	put("v2", "proc/self/cgroup", "0::/user.slice/app.scope\n");
	put("v2", "proc/self/mountinfo",
	    "22 1 259:1 / / rw,relatime - ext4 /dev/vda rw\n"
	    "30 22 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate\n");
	/* the parent's limit binds a child with none */
	put("v2", "sys/fs/cgroup/user.slice/memory.max", "3221225472\n");
	put("v2", "sys/fs/cgroup/user.slice/app.scope/memory.max", "max\n");
	put("v2", "sys/fs/cgroup/user.slice/cpu.max", "max 100000\n");
	put("v2", "sys/fs/cgroup/user.slice/app.scope/cpu.max", "150000 100000\n");
	CHECK(rp_cgroup_memory_limit(tree("v2")) == 3221225472ULL);
	CHECK(rp_cgroup_cpu_limit(tree("v2")) == 1.5);
	/* the lower of the two */
	put("v2", "sys/fs/cgroup/user.slice/app.scope/memory.max", "1073741824\n");
	put("v2", "sys/fs/cgroup/user.slice/cpu.max", "50000 100000\n");
	CHECK(rp_cgroup_memory_limit(tree("v2")) == 1073741824ULL);
	CHECK(rp_cgroup_cpu_limit(tree("v2")) == 0.5);
}

static void test_v2_namespace(void)
{
	/* In a cgroup namespace the process sits at "/" of a mount whose root is
	 * the container's cgroup. */
	put("ns", "proc/self/cgroup", "0::/\n");
	put("ns", "proc/self/mountinfo",
	    "600 500 0:26 /docker/0123abcd /sys/fs/cgroup ro,nosuid - cgroup2 cgroup rw,nsdelegate\n");
	put("ns", "sys/fs/cgroup/memory.max", "536870912\n");
	put("ns", "sys/fs/cgroup/cpu.max", "200000 100000\n");
	CHECK(rp_cgroup_memory_limit(tree("ns")) == 536870912ULL);
	CHECK(rp_cgroup_cpu_limit(tree("ns")) == 2.0);
}

static void test_v1_hybrid(void)
{
	put("v1", "proc/self/cgroup",
	    "9:name=systemd:/\n6:memory:/process_api/job7\n5:cpuacct,cpu:/process_api/job7\n3:cpuset:/\n0::/\n");
	put("v1", "proc/self/mountinfo",
	    "25 22 0:22 / /sys/fs/cgroup rw - tmpfs tmpfs rw,mode=755\n"
	    "26 25 0:23 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n"
	    "27 25 0:24 / /sys/fs/cgroup/cpu\\040and\\040acct rw - cgroup cgroup rw,cpuacct,cpu\n"
	    "28 25 0:25 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"
	    "29 25 0:26 / /sys/fs/cgroup/cpuset rw - cgroup cgroup rw,cpuset\n");
	put("v1", "sys/fs/cgroup/memory/memory.limit_in_bytes", "9223372036854771712\n");
	put("v1", "sys/fs/cgroup/memory/process_api/memory.limit_in_bytes", "2147483648\n");
	put("v1", "sys/fs/cgroup/memory/process_api/job7/memory.limit_in_bytes", "9223372036854771712\n");
	put("v1", "sys/fs/cgroup/cpuset/process_api/job7/memory.limit_in_bytes", "1\n"); /* not memory's hierarchy */
	put("v1", "sys/fs/cgroup/cpu and acct/process_api/job7/cpu.cfs_quota_us", "-1\n");
	put("v1", "sys/fs/cgroup/cpu and acct/process_api/job7/cpu.cfs_period_us", "100000\n");
	CHECK(rp_cgroup_memory_limit(tree("v1")) == 2147483648ULL);
	CHECK(isinf(rp_cgroup_cpu_limit(tree("v1")))); /* -1: no quota */
	put("v1", "sys/fs/cgroup/cpu and acct/process_api/job7/cpu.cfs_quota_us", "300000\n");
	CHECK(rp_cgroup_cpu_limit(tree("v1")) == 3.0);
}

static void test_this_machine(void)
{
	long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE), online = sysconf(_SC_NPROCESSORS_ONLN);
	uint64_t m = rp_memory_limit();
	CHECK(m > 0 && m <= (uint64_t)pages * (uint64_t)page);
	long c = rp_cpu_limit();
	CHECK(c >= 1 && c <= online);
	rp_pool *pool = rp_pool_new(0);
	CHECK(pool && rp_pool_size(pool) == (int)c);
	rp_pool_free(pool);
}

int main(void)
{
	const char *tmp = getenv("TMPDIR");
	snprintf(base, sizeof base, "%s/rp-limits-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(base)) {
		perror("mkdtemp");
		return 1;
	}
	RUN(test_no_cgroup);
	RUN(test_v2);
	RUN(test_v2_namespace);
	RUN(test_v1_hybrid);
	RUN(test_this_machine);
	char cmd[700];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
	if (system(cmd)) fprintf(stderr, "could not remove %s\n", base);
	TEST_END();
}
