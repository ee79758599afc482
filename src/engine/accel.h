/* Which accelerator a stock Linux guest can use on this host (KVM or TCG), and the host
 * TSC frequency TCG guests need on their command line. Probes only: never opens a VM,
 * never blocks, never writes anything. */
#ifndef SBX_ENGINE_ACCEL_H
#define SBX_ENGINE_ACCEL_H

#include <stdbool.h>

#include "engine/engine.h"

/**
 * accel_probe() - KVM if /dev/kvm opens, KVM_GET_API_VERSION answers 12, /proc/cpuinfo
 * has vmx or svm and the PVM module (/sys/module/kvm_pvm) is not loaded; else TCG.
 * @why: optional buffer (may be NULL) receiving the reason TCG was chosen.
 */
enum engine_accel accel_probe(char *why, size_t whylen);

/**
 * accel_probe_cpuinfo() - the cpuinfo part of the probe on a given text: true if some
 * "flags" line carries vmx or svm.
 */
bool accel_cpuinfo_has_virt(const char *cpuinfo);

/**
 * accel_tsc_khz_parse() - host TSC kHz from /proc/cpuinfo text: the first "cpu MHz" value
 * times 1000, rounded down. Return: kHz, or 0 if absent or malformed.
 */
long accel_tsc_khz_parse(const char *cpuinfo);

/**
 * accel_tsc_khz() - accel_tsc_khz_parse() on this host's /proc/cpuinfo. Return kHz or 0.
 */
long accel_tsc_khz(void);

/**
 * accel_name() - "kvm" or "tcg".
 */
const char *accel_name(enum engine_accel a);

/**
 * accel_parse() - "kvm"/"tcg" to the enum. Return 0 or -1 if unknown.
 */
int accel_parse(const char *s, enum engine_accel *out);

#endif
