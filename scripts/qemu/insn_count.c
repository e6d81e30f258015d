/* Minimal QEMU TCG plugin: counts guest instructions executed, over all guest
 * threads, and prints the total at exit. Debian bookworm's qemu-user (7.2) is
 * built with plugin support but ships no plugins and no plugin header, so the
 * few API entry points used are declared here from QEMU's documented, versioned
 * plugin ABI (version 1).
 *
 * Thread safety: qemu-user runs every guest thread as its own vCPU, in parallel
 * (MTTCG). An inline QEMU_PLUGIN_INLINE_ADD_U64 on one shared counter is a plain
 * read-modify-write from several host threads and loses counts, and QEMU 7.2 has
 * no per-vCPU inline counters. So each translated block gets an execution
 * callback that adds its instruction count to its vCPU's own cache-line-sized
 * slot (a vCPU index belongs to one live thread at a time; indices of exited
 * threads are reused, which is fine for a sum). Indices beyond the table fall
 * back to an atomic add. The total is the sum over all slots. */
#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef uint64_t qemu_plugin_id_t;
struct qemu_plugin_tb;
typedef struct qemu_info_t qemu_info_t;
enum qemu_plugin_cb_flags { QEMU_PLUGIN_CB_NO_REGS, QEMU_PLUGIN_CB_R_REGS, QEMU_PLUGIN_CB_RW_REGS };
typedef void (*qemu_plugin_vcpu_udata_cb_t)(unsigned int vcpu_index, void *userdata);

void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id,
                                           void (*cb)(qemu_plugin_id_t, struct qemu_plugin_tb *));
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
void qemu_plugin_register_vcpu_tb_exec_cb(struct qemu_plugin_tb *tb, qemu_plugin_vcpu_udata_cb_t cb,
                                          enum qemu_plugin_cb_flags flags, void *userdata);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, void (*cb)(qemu_plugin_id_t, void *), void *udata);

__attribute__((visibility("default"))) int qemu_plugin_version = 1;

#define MAX_VCPUS 1024
struct slot {
    uint64_t n;
    char pad[64 - sizeof(uint64_t)];
};
static struct slot per_vcpu[MAX_VCPUS] __attribute__((aligned(64)));
static uint64_t overflow; /* atomic: vCPUs with index >= MAX_VCPUS */

static void on_exec(unsigned int vcpu, void *udata) {
    uint64_t n = (uint64_t)(uintptr_t)udata;
    if (vcpu < MAX_VCPUS)
        per_vcpu[vcpu].n += n;
    else
        __atomic_fetch_add(&overflow, n, __ATOMIC_RELAXED);
}

static void on_translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb) {
    (void)id;
    qemu_plugin_register_vcpu_tb_exec_cb(tb, on_exec, QEMU_PLUGIN_CB_NO_REGS,
                                         (void *)(uintptr_t)qemu_plugin_tb_n_insns(tb));
}

static void on_exit(qemu_plugin_id_t id, void *udata) {
    (void)id, (void)udata;
    uint64_t total = __atomic_load_n(&overflow, __ATOMIC_RELAXED);
    unsigned used = 0;
    for (unsigned i = 0; i < MAX_VCPUS; i++) {
        uint64_t n = __atomic_load_n(&per_vcpu[i].n, __ATOMIC_RELAXED);
        total += n;
        used += n != 0;
    }
    fprintf(stderr, "insn_count: %" PRIu64 "\n", total);
    fprintf(stderr, "insn_count_vcpus: %u\n", used);
}

__attribute__((visibility("default"))) int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info,
                                                                int argc, char **argv) {
    (void)info, (void)argc, (void)argv;
    qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
    qemu_plugin_register_atexit_cb(id, on_exit, NULL);
    return 0;
}
