/**
 * The rules between modules (docs/architecture.md, "Layers and rules"), checked by
 * `npm run lint:deps` in .ci/run. Tests, the CLI and src/app.ts are the composition root and
 * are not bound by them.
 */
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'exchange-is-transport',
      comment:
        'src/modules/exchange is transport only: it imports no domain module (the audit log is the one it writes to). Register a handler or a delivery hook instead.',
      severity: 'error',
      from: { path: '^src/modules/exchange/' },
      to: { path: '^src/modules/', pathNot: ['^src/modules/exchange/', '^src/modules/audit/'] },
    },
    {
      name: 'repository-is-private',
      comment: "A *.repository.ts is imported only from its own module; go through the module's public surface.",
      severity: 'error',
      from: { path: '^src/modules/([^/]+)/' },
      to: { path: '^src/modules/[^/]+/[^/]+[.]repository[.]ts$', pathNot: '^src/modules/$1/' },
    },
    {
      name: 'module-surface',
      comment: 'Another module is reached only through its *.module.ts or index.ts: the surface it states.',
      severity: 'error',
      from: { path: '^src/modules/([^/]+)/' },
      to: {
        path: '^src/modules/',
        pathNot: ['^src/modules/$1/', '^src/modules/[^/]+/[^/]+[.]module[.]ts$', '^src/modules/[^/]+/index[.]ts$'],
      },
    },
    {
      name: 'no-unresolvable',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|dist|test|bench|demo)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    // ESM-only packages (typebox) resolve through their "import" export condition.
    enhancedResolveOptions: {
      conditionNames: ['import', 'node', 'default'],
      exportsFields: ['exports'],
      mainFields: ['module', 'main'],
    },
  },
};
