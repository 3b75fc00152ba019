import { readFileSync } from 'node:fs';

/**
 * Renders deploy/nginx.conf.template: the edge of the compose stack and of
 * `npm run cluster` come from this one template, so the two cannot drift apart.
 */
export interface NginxConfigValues {
  /** `host:port` of each server node (a line holding {{server}} is repeated per node). */
  servers: string[];
  /** `host:port` of each gateway node. */
  gateways: string[];
  /** What the edge listens on: a port, or `address:port`. */
  listen: string;
  /** Where errors and requests are logged (`stderr`, `/dev/stdout`, or a path). */
  errorLog: string;
  accessLog: string;
}

export const NGINX_TEMPLATE = new URL('./nginx.conf.template', import.meta.url);
/** The compose stack's edge configuration, rendered by `npm run nginx:render`. */
export const COMPOSE_NGINX_CONF = new URL('./nginx.conf', import.meta.url);

/**
 * Where each node of the compose stack is: the fixed addresses docker-compose.yml gives
 * them on its `backend` network (nginx resolves nothing at run time, see the template).
 */
export const COMPOSE_NGINX: NginxConfigValues = {
  servers: ['172.28.0.11:3000', '172.28.0.12:3000'],
  gateways: ['172.28.0.21:3000', '172.28.0.22:3000'],
  listen: '80',
  errorLog: '/dev/stderr',
  accessLog: '/dev/stdout',
};

const RENDERED_HEADER =
  '# Rendered from deploy/nginx.conf.template (`npm run nginx:render` for compose, and by\n' +
  '# `npm run cluster` for its own copy): edit the template, not this file.\n';

const ADDRESS = /^[A-Za-z0-9.-]+:\d{1,5}$|^\[[0-9A-Fa-f:]+\]:\d{1,5}$/;
const PATH = /^[^\s;{}'"$#]+$/;

export function renderNginxConfig(
  values: NginxConfigValues,
  template = readFileSync(NGINX_TEMPLATE, 'utf8'),
): string {
  for (const [name, list] of [
    ['servers', values.servers],
    ['gateways', values.gateways],
  ] as const) {
    if (list.length === 0) throw new Error(`nginx config: at least one ${name} address is needed`);
    const bad = list.find((a) => !ADDRESS.test(a));
    if (bad) throw new Error(`nginx config: ${name}: "${bad}" is not host:port`);
  }
  const scalars: Record<string, string> = {
    listen: values.listen,
    error_log: values.errorLog,
    access_log: values.accessLog,
  };
  for (const [name, value] of Object.entries(scalars)) {
    // Values land inside directives: nothing that could end one or start another.
    if (!PATH.test(value)) throw new Error(`nginx config: ${name}: "${value}" is not usable`);
  }
  const lists: Record<string, string[]> = { server: values.servers, gateway: values.gateways };

  const out: string[] = [];
  for (const line of template.split('\n')) {
    const names = [...line.matchAll(/\{\{(\w+)\}\}/g)].map((m) => m[1]!);
    const listNames = [...new Set(names.filter((n) => n in lists))];
    for (const n of names) {
      if (!(n in lists) && !(n in scalars)) throw new Error(`nginx template: unknown {{${n}}}`);
    }
    if (listNames.length > 1) throw new Error(`nginx template: one list per line: ${line}`);
    const items = listNames.length === 1 ? lists[listNames[0]!]! : [undefined];
    for (const item of items) {
      out.push(
        line.replace(/\{\{(\w+)\}\}/g, (_, n: string) => (n in lists ? item! : scalars[n]!)),
      );
    }
  }
  return RENDERED_HEADER + out.join('\n');
}
