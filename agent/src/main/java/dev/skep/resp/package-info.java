/**
 * RESP for the proxy's hot path: framing of requests and replies by scanning bytes, and the table that says
 * where each command may go. Pure code: no I/O, no threads, no Netty pipeline; the only Netty type used is
 * {@link io.netty.buffer.ByteBuf}, read between its reader and writer indices and never moved.
 *
 * <ul>
 *   <li>{@link dev.skep.resp.RequestScanner}: one per client connection. Length of each request, its command
 *       ({@link dev.skep.resp.CommandSpec}), its {@link dev.skep.resp.Route} (shared, dedicated, refused), its
 *       write flag; Redis 7.0's framing, limits and error texts.
 *   <li>{@link dev.skep.resp.ReplyScanner}: one per upstream connection. Length of each reply, RESP2 and
 *       RESP3, and whether it is a push (not the reply to a request).
 *   <li>{@link dev.skep.resp.CommandTable}: every Redis 7.0 command, from the documented table
 *       {@code commands.txt} next to it.
 *   <li>{@link dev.skep.resp.RequestArguments}: the slow path, arguments as byte arrays for the few requests
 *       whose arguments the proxy must read.
 *   <li>{@link dev.skep.resp.RespWriter}: everything written in RESP (replies, errors, the proxy's own requests).
 * </ul>
 *
 * <p>Both scanners are resumable: after {@code NEED_MORE} they keep their place, so a request or reply that
 * arrives in many chunks is scanned once in total. Both allocate nothing per frame, except for CONFIG SET
 * (whose parameters are decoded to be checked) and for protocol errors.
 */
package dev.skep.resp;
