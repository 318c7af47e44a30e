import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import ts from 'typescript';

/**
 * The package's declaration files as a library user's compiler sees them: every type that a
 * public signature names (a parameter, a result, a field, a base type, an event) must be exported
 * from the package root, or a user cannot name it, and the `.d.ts` leaks an internal module.
 */
const DIST_SRC = path.resolve(__dirname, '..', '..', 'src');
const INDEX = path.join(DIST_SRC, 'index.d.ts');

test('every type a public signature uses is exported from the package root', () => {
  const program = ts.createProgram([INDEX], { strict: true, types: [] });
  const checker = program.getTypeChecker();
  const index = program.getSourceFile(INDEX);
  assert.ok(index, `${INDEX} exists (run tsc first)`);
  const exported = new Set<ts.Symbol>();
  const resolve = (s: ts.Symbol) => (s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s);
  for (const s of checker.getExportsOfModule(checker.getSymbolAtLocation(index)!)) exported.add(resolve(s));

  const ours = (d: ts.Declaration) => path.resolve(d.getSourceFile().fileName).startsWith(DIST_SRC + path.sep);
  const leaks = new Set<string>();
  const seen = new Set<ts.Symbol>();
  const visitSymbol = (symbol: ts.Symbol) => {
    if (seen.has(symbol)) return;
    seen.add(symbol);
    for (const decl of symbol.declarations ?? []) visitNode(decl, symbol);
  };
  const visitNode = (node: ts.Node, owner: ts.Symbol) => {
    // Private members are not part of the surface (their types are not even in the .d.ts).
    if (ts.canHaveModifiers(node) && ts.getModifiers(node)?.some((m) => m.kind === ts.SyntaxKind.PrivateKeyword)) return;
    if (ts.isTypeReferenceNode(node) || ts.isExpressionWithTypeArguments(node)) {
      const name = ts.isTypeReferenceNode(node) ? node.typeName : node.expression;
      const target = checker.getSymbolAtLocation(name);
      if (target && !(target.flags & ts.SymbolFlags.TypeParameter)) {
        const real = resolve(target);
        const decls = real.declarations ?? [];
        if (decls.some(ours)) {
          if (!exported.has(real)) leaks.add(`${real.getName()} (used by ${owner.getName()}, declared in ${path.relative(DIST_SRC, decls[0].getSourceFile().fileName)})`);
          else visitSymbol(real);
        }
      }
    }
    ts.forEachChild(node, (child) => visitNode(child, owner));
  };
  for (const symbol of exported) if ((symbol.declarations ?? []).some(ours)) visitSymbol(symbol);
  assert.ok(seen.size > 20, `walked ${seen.size} public declarations`);
  assert.deepEqual([...leaks].sort(), []);
});
