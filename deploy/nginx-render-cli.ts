// `npm run nginx:render`: writes deploy/nginx.conf, the compose stack's edge, from the
// template. `--check` only says whether the file is up to date (exit 1 when it is not).
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { COMPOSE_NGINX, COMPOSE_NGINX_CONF, renderNginxConfig } from './nginx-config.ts';

const rendered = renderNginxConfig(COMPOSE_NGINX);
const file = fileURLToPath(COMPOSE_NGINX_CONF);
if (process.argv.includes('--check')) {
  let current = '';
  try {
    current = readFileSync(file, 'utf8');
  } catch {
    // missing: not up to date
  }
  if (current !== rendered) {
    console.error(`${file} differs from the template: run npm run nginx:render`);
    process.exit(1);
  }
  console.log(`${file} is up to date`);
} else {
  writeFileSync(file, rendered);
  console.log(`wrote ${file}`);
}
