/* SPDX-License-Identifier: GPL-2.0 */
/* The process and thread ids every program compares and reports: the ids of syswalk's own PID namespace, the ones
 * fork() returned to it and its /proc shows. bpf_get_current_pid_tgid() gives the initial namespace's ids; inside a
 * container those are other numbers, and the initial namespace's id N can be an unrelated process. */
#ifndef SW_IDS_H
#define SW_IDS_H

/* 0: syswalk runs in the initial PID namespace, where the kernel's own ids are the user's (no translation, no
 * cost). Otherwise the inode number of syswalk's namespace (/proc/self/ns/pid), set by user space before load. */
const volatile __u32 pidns_ino = 0;

/* The deepest namespace level looked at: a task's struct pid holds one number per level, 0 = the initial one. */
#define SW_PIDNS_LEVELS 8

/* The number `p` has in syswalk's namespace; 0 when it has none (a task of an ancestor or sibling namespace). */
static __always_inline __u32 sw_ns_nr(struct pid *p)
{
	unsigned int level;
	__u64 base;

	if (!p)
		return 0;
	level = BPF_CORE_READ(p, level);
	base = (__u64)p + bpf_core_field_offset(struct pid, numbers);
	for (int i = 0; i < SW_PIDNS_LEVELS; i++) {
		struct upid u = {};
		if ((unsigned int)i > level)
			break;
		if (bpf_probe_read_kernel(&u, sizeof(u), (void *)(base + i * sizeof(struct upid))))
			return 0;
		if (u.ns && BPF_CORE_READ(u.ns, ns.inum) == pidns_ino)
			return (__u32)u.nr;
	}
	return 0;
}

/* tgid << 32 | tid of `t` in syswalk's namespace; 0 when the task is not visible there. */
static __always_inline __u64 sw_task_ids(struct task_struct *t)
{
	__u32 tid, tgid;

	if (!pidns_ino)
		return ((__u64)BPF_CORE_READ(t, tgid) << 32) | (__u32)BPF_CORE_READ(t, pid);
	tid = sw_ns_nr(BPF_CORE_READ(t, thread_pid));
	tgid = sw_ns_nr(BPF_CORE_READ(t, group_leader, thread_pid));
	if (!tid || !tgid)
		return 0;
	return ((__u64)tgid << 32) | tid;
}

/* The current task's ids as syswalk numbers them (bpf_get_current_pid_tgid() in the initial namespace). */
static __always_inline __u64 sw_current_ids(void)
{
	if (!pidns_ino)
		return bpf_get_current_pid_tgid();
	return sw_task_ids(bpf_get_current_task_btf());
}

#endif
