// The layers (README, "Architecture"), checked by `npm run lint`:
//
//   main.ts, node.ts         compose the roles a process plays
//   server/ gateway/ workers/  roles: peers, never import each other
//   domain/<feature>/        owns its tables; reaches another feature only through its index.ts
//   core/                    infrastructure: knows nothing above it
//   contract/                the protocol: imports nothing of the project
//
// client/ (the socket client and the map viewer's browser code) sees only the contract.
// Tests, load tests and deploy scripts may reach anywhere: they are not checked.
const source = { pathNot: ['\\.test\\.ts$', '^test/', '^loadtest/', '^deploy/'] };

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'roles-are-peers',
      comment:
        'a role (server, gateway, workers) never imports another: shared code goes in domain/ or core/',
      severity: 'error',
      from: { ...source, path: '^(server|gateway|workers)/' },
      to: { path: '^(server|gateway|workers)/', pathNot: '^$1/' },
    },
    {
      name: 'core-stays-down',
      comment:
        'core/ is infrastructure: it imports no role, no domain, no client, nor the composition',
      severity: 'error',
      from: { ...source, path: '^core/' },
      to: { path: '^(server|gateway|workers|domain|client)/|^(main|node)\\.ts$' },
    },
    {
      name: 'domain-below-roles',
      comment: 'domain/ serves the roles and never imports them',
      severity: 'error',
      from: { ...source, path: '^domain/' },
      to: { path: '^(server|gateway|workers|client)/|^(main|node)\\.ts$' },
    },
    {
      name: 'domains-through-index',
      comment:
        "a domain reaches another only through that domain's index.ts (its public functions), never its queries",
      severity: 'error',
      from: { ...source, path: '^domain/([^/]+)/' },
      to: { path: '^domain/', pathNot: ['^domain/$1/', '^domain/[^/]+/index\\.ts$'] },
    },
    {
      name: 'contract-imports-nothing',
      comment: 'the contract is the protocol every part shares: it depends on no part',
      severity: 'error',
      from: { ...source, path: '^contract/' },
      to: { path: '^(core|domain|server|gateway|workers|client)/|^(main|node)\\.ts$' },
    },
    {
      name: 'client-sees-only-the-contract',
      comment:
        'client/ runs in browsers and apps: it may import the contract, nothing of the backend',
      severity: 'error',
      from: { ...source, path: '^client/' },
      to: { path: '^(core|domain|server|gateway|workers)/|^(main|node)\\.ts$' },
    },
    {
      name: 'no-circular',
      comment: 'a cycle of imports makes the layers meaningless',
      severity: 'error',
      from: source,
      to: { circular: true, dependencyTypesNot: ['type-only'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|\\.data|docs)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js', '.json'] },
  },
};
