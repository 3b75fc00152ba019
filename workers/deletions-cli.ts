// `npm run deletions`: per deleted account, which domains have finished their part
// (board, photos, social, notifications, auth), so a stuck step is noticed.
import { loadConfig } from '../core/config.ts';
import { createSql } from '../core/db.ts';
import { DELETION_STEPS, deletionProgress } from '../domain/account-deletion.ts';

const config = loadConfig();
const sql = createSql({ ...config, databasePoolSize: 1 });
try {
  const rows = await deletionProgress(sql);
  if (rows.length === 0) console.log('no account deletions');
  for (const r of rows) {
    const missing = DELETION_STEPS.map((s) => s.domain).filter((d) => !r.done.includes(d));
    const state = r.completedAt
      ? `done ${r.completedAt.toISOString()}`
      : `waiting for: ${missing.join(', ')}`;
    console.log(`${r.userId}  requested ${r.requestedAt.toISOString()}  ${state}`);
  }
} catch (err) {
  const code = (err as { code?: string }).code;
  console.error(code === '42P01' ? 'the database is not migrated yet: run npm run migrate' : err);
  process.exitCode = 1;
} finally {
  await sql.end();
}
