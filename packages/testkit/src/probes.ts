import http from 'node:http';
import https from 'node:https';
import net from 'node:net';

/** Client-side TLS material for an https probe (CA to trust, optional client certificate). */
export interface TlsProbeOptions {
  ca: string;
  cert?: string;
  key?: string;
}

/**
 * The status code of a GET. No keep-alive agent: a probe must not leave sockets behind when the
 * server is stopped.
 */
export function httpStatus(url: string, signal: AbortSignal, tls?: TlsProbeOptions): Promise<number> {
  return new Promise((resolve, reject) => {
    const onResponse = (res: http.IncomingMessage): void => {
      res.resume();
      res.once('end', () => resolve(res.statusCode ?? 0));
      res.once('error', reject);
    };
    const req =
      tls === undefined
        ? http.get(url, { agent: false, signal }, onResponse)
        : https.get(url, { agent: false, signal, ...tls }, onResponse);
    req.once('error', reject);
  });
}

/** True when a RESP server answers PING with PONG (not while it still loads, which answers -LOADING). */
export function redisPing(host: string, port: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port, signal });
    let reply = '';
    socket.setEncoding('utf8');
    socket.once('connect', () => socket.write('*1\r\n$4\r\nPING\r\n'));
    socket.on('data', (chunk: string) => {
      reply += chunk;
      if (reply.includes('\r\n')) {
        socket.destroy();
        resolve(reply.startsWith('+PONG'));
      }
    });
    socket.once('error', reject);
    socket.once('close', () => resolve(false));
  });
}
