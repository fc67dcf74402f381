// Architecture rules for kvbus' src/ tree. Run with `npm run deps`
// (depcruise src --config .dependency-cruiser.cjs); every rule is an error,
// so a single violation makes the command exit non-zero.
//
// Layers (target layout of src/):
//   entries   src/index.ts, src/redis.ts, src/inspector.ts  -> anything in src
//             src/keyv.ts, src/unstorage.ts                   -> src/adapters/ only
//             src/inspector.ts, src/cli.ts                    -> src/inspector/ only
//   adapters  src/adapters/ -> adapters, and kvbus by its package name (the public API)
//   inspector src/inspector/ -> inspector, and kvbus / kvbus/redis by name (the public API)
//   pure      every other src/*.ts (errors, types, glob, ...) -> pure only
//   commands  src/commands/  -> pure, commands, backends/backend.ts (type-only)
//   backends  src/backends/  -> pure, backends (memory/ and redis/ apart)
//   actors    src/actors/    -> pure, commands, actors, backends/backend.ts, cache
//   cache     src/cache/     -> pure, commands, cache, backends/backend.ts (type-only) (the near cache: both ends)
//   streams   src/streams/   -> pure, commands, streams
//   pool      src/pool/      -> pure, commands, streams, pool
//   api       src/api/       -> anything in src but the entries
// Paths are regular expressions matched against repo-relative paths, with forward slashes.

/** The package entry points (tsup entries / package.json "exports"), and the pool's task entry (dist/pool-task.cjs, loaded by piscina). */
const ENTRIES = '^src/(?:(?:index|redis|inspector|keyv|unstorage|cli)\\.ts|pool/task-entry\\.ts)$';
/** The entries of the ecosystem adapters (`kvbus/keyv`, `kvbus/unstorage`). */
const ADAPTER_ENTRIES = '^src/(?:keyv|unstorage)\\.ts$';
/** Top-level modules of src/ that are not entries: the pure modules. */
const PURE = '^src/(?!(?:index|redis|inspector|keyv|unstorage|cli)\\.ts$)[^/]+$';
/** The entries of the inspector (`kvbus/inspector`, the `kvbus` command). */
const INSPECTOR_ENTRIES = '^src/(?:inspector|cli)\\.ts$';
/** The folders that use kvbus through its public API, by name: the adapters and the inspector. */
const PUBLIC_API_USERS = '^src/(?:adapters|inspector)/';
/** The storage contract, the one backends/ file other layers may see. */
const BACKEND_CONTRACT = '^src/backends/backend\\.ts$';
/** Anything inside src/ (the `to` side of the layer rules). */
const SRC = '^src/';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    // Design rule "pure top-level modules may import only other pure
    // top-level modules": errors/types/glob/clone/validate/clock/defaults/...
    // sit below every layer, so they import neither an entry nor any folder.
    {
      name: 'pure-imports-pure-only',
      comment: 'A pure top-level module (src/*.ts, not an entry) may import only other pure top-level modules.',
      severity: 'error',
      from: { path: PURE },
      to: { path: SRC, pathNot: PURE },
    },

    // Design rule "commands/ is the command vocabulary": descriptors, event
    // kinds, the Link and Connection contracts build on pure modules, each
    // other, and the storage contract - nothing else.
    {
      name: 'commands-boundary',
      comment: 'src/commands/ may import pure modules, other files in commands/ and src/backends/backend.ts (type-only) only.',
      severity: 'error',
      from: { path: '^src/commands/' },
      to: { path: SRC, pathNot: [PURE, '^src/commands/', BACKEND_CONTRACT] },
    },

    // Design rule "commands/ sees backends/backend.ts type-only": the
    // vocabulary may name the Backend interface but never load storage code.
    {
      name: 'commands-backend-type-only',
      comment: 'src/commands/ may import src/backends/backend.ts with `import type` only.',
      severity: 'error',
      from: { path: '^src/commands/' },
      to: { path: BACKEND_CONTRACT, dependencyTypesNot: ['type-only'] },
    },

    // Design rule "storage knows no threads, transport or actor": backends/
    // (backend.ts, memory/, redis/) build on pure modules and each other only.
    {
      name: 'backends-boundary',
      comment: 'src/backends/ may import pure modules and files within src/backends/ only (storage knows no threads, transport or actor).',
      severity: 'error',
      from: { path: '^src/backends/' },
      to: { path: SRC, pathNot: [PURE, '^src/backends/'] },
    },

    // Design rule "memory/ and redis/ must not import each other": the two
    // storage engines share only backend.ts and the pure modules.
    {
      name: 'backends-no-cross-engine',
      comment: 'src/backends/memory/ and src/backends/redis/ must not import each other.',
      severity: 'error',
      from: { path: '^src/backends/(memory|redis)/' },
      to: { path: '^src/backends/(?:memory|redis)/', pathNot: '^src/backends/$1/' },
    },

    // Design rule "the actor knows no pool or caller": actors/ (actor,
    // mailbox, router, local link) builds on pure, commands/ and the storage
    // contract; never streams/, pool/, api/, backends/memory or backends/redis.
    {
      name: 'actors-boundary',
      comment:
        'src/actors/ may import pure modules, src/commands/, src/actors/ and src/backends/backend.ts only (the actor knows no pool or caller).',
      severity: 'error',
      from: { path: '^src/actors/' },
      to: { path: SRC, pathNot: [PURE, '^src/commands/', '^src/actors/', BACKEND_CONTRACT, '^src/cache/'] },
    },

    // Design rule "the near cache is shared by both ends" (the actor and the worker side both use it).
    {
      name: 'cache-boundary',
      comment: 'src/cache/ may import pure modules, src/commands/, src/cache/ and src/backends/backend.ts (type-only) only.',
      severity: 'error',
      from: { path: '^src/cache/' },
      to: { path: SRC, pathNot: [PURE, '^src/commands/', '^src/cache/', BACKEND_CONTRACT] },
    },
    {
      name: 'cache-backend-type-only',
      comment: 'src/cache/ may import src/backends/backend.ts with `import type` only.',
      severity: 'error',
      from: { path: '^src/cache/' },
      to: { path: BACKEND_CONTRACT, dependencyTypesNot: ['type-only'] },
    },

    // Design rule "the transport knows no pool": streams/ (protocol, message
    // streams, both ends of the wire) builds on pure and commands/ only;
    // never actors/, pool/, api/, backends/.
    {
      name: 'streams-boundary',
      comment: 'src/streams/ may import pure modules, src/commands/ and src/streams/ only (the transport knows no pool).',
      severity: 'error',
      from: { path: '^src/streams/' },
      to: { path: SRC, pathNot: [PURE, '^src/commands/', '^src/streams/'] },
    },

    // Design rule "pool/ (piscina, attach, fork, worker/child connect) sits
    // on the transport": pure, commands/, streams/; never actors/, api/,
    // backends/.
    {
      name: 'pool-boundary',
      comment: 'src/pool/ may import pure modules, src/commands/, src/streams/ and src/pool/ only.',
      severity: 'error',
      from: { path: '^src/pool/' },
      to: { path: SRC, pathNot: [PURE, '^src/commands/', '^src/streams/', '^src/pool/'] },
    },

    // Design rule "api/ is the public face, the entries re-export it": api/
    // may import anything in src except the entry points.
    {
      name: 'api-not-to-entries',
      comment: 'src/api/ may import anything in src except the entries (index.ts, redis.ts, inspector.ts).',
      severity: 'error',
      from: { path: '^src/api/' },
      to: { path: ENTRIES },
    },

    // Design rule "an adapter is a user of kvbus": src/adapters/ (the Keyv
    // store, the unstorage driver) imports kvbus by its package name, as any
    // user does, and nothing else of src/ but its own folder. So dist/keyv.js
    // and dist/unstorage.js load the package's index instead of sharing chunks
    // with it, and the main entry's output does not change.
    {
      name: 'adapters-use-public-api',
      comment: "src/adapters/ may import only src/adapters/ and the public API, by name: import { ... } from 'kvbus'.",
      severity: 'error',
      from: { path: '^src/adapters/' },
      to: { path: SRC, pathNot: '^src/adapters/' },
    },

    // Design rule "the inspector is a user of kvbus", as the adapters are:
    // src/inspector/ imports 'kvbus' and 'kvbus/redis' by name and nothing else
    // of src but its own folder, so dist/inspector.js and dist/cli.js load the
    // package's entries and the main entry's output does not change.
    {
      name: 'inspector-uses-public-api',
      comment: "src/inspector/ may import only src/inspector/ and the public API, by name: 'kvbus', 'kvbus/redis'.",
      severity: 'error',
      from: { path: '^src/inspector/' },
      to: { path: SRC, pathNot: '^src/inspector/' },
    },
    {
      name: 'inspector-only-from-its-entries',
      comment: 'Only src/inspector.ts and src/cli.ts (and src/inspector/ itself) may import src/inspector/.',
      severity: 'error',
      from: { path: SRC, pathNot: ['^src/inspector/', INSPECTOR_ENTRIES] },
      to: { path: '^src/inspector/' },
    },
    {
      name: 'inspector-entries-only-inspector',
      comment: 'src/inspector.ts and src/cli.ts import src/inspector/ and nothing else of src.',
      severity: 'error',
      from: { path: INSPECTOR_ENTRIES },
      to: { path: SRC, pathNot: '^src/inspector/' },
    },

    // ... and only the adapters and the inspector import kvbus by name (from anywhere else in src
    // that is a cycle through dist/).
    {
      name: 'only-adapters-import-kvbus-by-name',
      comment: "Only src/adapters/ and src/inspector/ may import 'kvbus' by its package name; the rest of src imports relative paths.",
      severity: 'error',
      from: { path: SRC, pathNot: PUBLIC_API_USERS },
      to: { path: ['^dist/', '^kvbus(?:/|$)'] },
    },

    // Design rule "the adapters are entries of their own": only src/keyv.ts and
    // src/unstorage.ts import src/adapters/, and they import nothing else, so
    // the main entry never loads an adapter (or keyv, or unstorage).
    {
      name: 'adapters-only-from-their-entries',
      comment: 'Only src/keyv.ts and src/unstorage.ts (and src/adapters/ itself) may import src/adapters/.',
      severity: 'error',
      from: { path: SRC, pathNot: ['^src/adapters/', ADAPTER_ENTRIES] },
      to: { path: '^src/adapters/' },
    },
    {
      name: 'adapter-entries-only-adapters',
      comment: 'src/keyv.ts and src/unstorage.ts re-export src/adapters/ and import nothing else of src.',
      severity: 'error',
      from: { path: ADAPTER_ENTRIES },
      to: { path: SRC, pathNot: '^src/adapters/' },
    },

    // Design rule "keyv and unstorage are optional peers, loaded only by their
    // adapters": no other module of src imports them.
    {
      name: 'optional-peers-only-in-adapters',
      comment: 'Only src/adapters/ may import keyv or unstorage (optional peer dependencies).',
      severity: 'error',
      from: { path: SRC, pathNot: '^src/adapters/' },
      to: { path: '(?:^|/)node_modules/(?:keyv|unstorage|@keyv)/' },
    },

    // Design rule "the worker side never loads the actor": nothing under
    // streams/client-end/, no pool/connect*.ts and not api/store-client.ts may
    // reach src/actors/, directly or through any chain of imports.
    // (Reachability follows every edge, type-only ones included, so this is
    // stricter than "loads": a type-only path into actors/ is flagged too.)
    {
      name: 'worker-side-not-to-actor',
      comment:
        'The worker side (src/streams/client-end/, src/pool/connect*.ts, src/api/store-client.ts) must not reach src/actors/, even transitively.',
      severity: 'error',
      from: { path: ['^src/streams/client-end/', '^src/pool/connect[^/]*\\.ts$', '^src/api/store-client\\.ts$'] },
      to: { path: '^src/actors/', reachable: true },
    },

    // Design rule "no circular dependencies anywhere in src" (type-only
    // imports count: tsPreCompilationDeps is on).
    {
      name: 'no-circular',
      comment: 'This dependency is part of a cycle. Break it (dependency inversion, move the shared part into a lower layer).',
      severity: 'error',
      from: { path: SRC },
      to: { circular: true },
    },

    // Design rule "no orphans in src": every module but the entries must be
    // imported by someone. Expressed as "reachable from an entry", which also
    // catches dead islands (modules only imported by other dead modules).
    // The entries are left out of `to` since they need not reach each other.
    {
      name: 'no-orphans',
      comment:
        'This module is not reachable from any entry (index.ts, redis.ts, inspector.ts, keyv.ts, unstorage.ts, cli.ts): nobody uses it. Import it or delete it.',
      severity: 'error',
      from: { path: ENTRIES },
      to: { path: SRC, pathNot: ENTRIES, reachable: false },
    },

    // Design rule "src does not depend on devDependencies": what is only in
    // devDependencies is absent for users. Packages that are also peer /
    // regular / optional dependencies (rxjs, redis) are fine.
    {
      name: 'not-to-dev-dep',
      comment: 'src/ must not import a package that is only in devDependencies: it is not installed for users of kvbus.',
      severity: 'error',
      from: { path: SRC },
      to: { dependencyTypes: ['npm-dev'], dependencyTypesNot: ['npm', 'npm-peer', 'npm-optional'] },
    },

    // Design rule "every import resolves": a module that cannot be found on
    // disk (typo, moved file, missing package).
    {
      name: 'not-to-unresolvable',
      comment: 'This import does not resolve to a file or an installed package.',
      severity: 'error',
      from: { path: SRC },
      // 'kvbus' (the adapters' import of the public API) resolves to dist/, absent before a build.
      to: { couldNotResolve: true, pathNot: '^kvbus(?:/redis)?$' },
    },
  ],

  options: {
    // Cruise src only; show packages as leaves but do not walk into them.
    doNotFollow: { path: ['node_modules', '^dist/'] },
    // `import type` / `export type` edges are real edges for these rules.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
  },
};
