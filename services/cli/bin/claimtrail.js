#!/usr/bin/env node
// The `claimtrail` command. Node 24 runs the TypeScript sources directly (type stripping).
const [major] = process.versions.node.split('.').map(Number);
if (major < 24) {
  process.stderr.write(`claimtrail needs Node.js 24 or newer (this is ${process.version}); run it through npm (npx claimtrail …) after npm ci, which brings Node 24.\n`);
  process.exit(2);
}
await import('../src/main.ts');
