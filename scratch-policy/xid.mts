import { PGlite } from '@electric-sql/pglite';
const db = new PGlite();
await db.exec(`create table t (id int primary key, x xid8, s bigint); create index t_xs on t (x, s); create sequence cs;`);
await db.exec(`insert into t values (1, pg_current_xact_id(), nextval('cs'))`);
await db.exec(`begin; insert into t values (2, pg_current_xact_id(), nextval('cs')); update t set x = pg_current_xact_id(), s = nextval('cs') where id = 1; commit;`);
console.log((await db.query(`select id, x::text, s, pg_snapshot_xmin(pg_current_snapshot())::text as xmin, x < pg_snapshot_xmin(pg_current_snapshot()) as vis from t order by x, s`)).rows);
console.log((await db.query(`select version()`)).rows);
