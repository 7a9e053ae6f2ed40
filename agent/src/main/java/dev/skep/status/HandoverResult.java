package dev.skep.status;

import dev.skep.topology.Endpoint;
/**
 * How a planned handover ended, for whoever asked for it ({@code skep failover}, SIGTERM).
 *
 * @param ok        true when the successor leads and this node follows it
 * @param detail    what happened, or why it was refused or abandoned
 * @param successor the node that leads now (ok), or the one it was meant for; null when refused at once
 * @param epoch     the successor's epoch (ok), else 0
 * @param pausedMs  how long new writes were held, 0 when refused at once
 */
public record HandoverResult(boolean ok, String detail, Endpoint successor, long epoch, long pausedMs) {}
