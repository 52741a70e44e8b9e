/**
 * The project's own source read as a graph, with the TypeScript compiler's parser (no type
 * checking, no build): which module imports which (static, type-only and dynamic imports told
 * apart), and how long each function is. The architecture test and `npm run check:architecture`
 * enforce the layering rules of docs/architecture.md with it.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

export type ImportKind = 'static' | 'type' | 'dynamic';

export interface ImportEdge {
  /** The specifier as written ('../config.js', '@tensorflow/tfjs-core'). */
  specifier: string;
  /** Repository-relative path of the imported .ts file, for relative specifiers that resolve. */
  target: string | undefined;
  kind: ImportKind;
  line: number;
}

export interface FunctionSpan {
  name: string;
  line: number;
  lines: number;
}

export interface SourceModule {
  /** Repository-relative path, '/' separated. */
  file: string;
  imports: ImportEdge[];
  functions: FunctionSpan[];
}

export function listTsFiles(root: string, dir: string): string[] {
  const out: string[] = [];
  const walk = (abs: string): void => {
    for (const entry of readdirSync(abs)) {
      if (entry === 'node_modules' || entry.startsWith('.')) continue;
      const child = path.join(abs, entry);
      if (statSync(child).isDirectory()) walk(child);
      else if (entry.endsWith('.ts') && !entry.endsWith('.d.ts')) out.push(path.relative(root, child).split(path.sep).join('/'));
    }
  };
  walk(path.join(root, dir));
  return out.sort();
}

export function readModule(root: string, file: string): SourceModule {
  const text = readFileSync(path.join(root, file), 'utf8');
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  const imports: ImportEdge[] = [];
  const functions: FunctionSpan[] = [];
  const lineOf = (pos: number): number => source.getLineAndCharacterOfPosition(pos).line + 1;
  const resolve = (specifier: string): string | undefined => {
    if (!specifier.startsWith('.')) return undefined;
    const joined = path.posix.normalize(path.posix.join(path.posix.dirname(file), specifier));
    return joined.replace(/\.js$/, '.ts');
  };
  const addImport = (specifier: string, kind: ImportKind, node: ts.Node): void => {
    imports.push({ specifier, target: resolve(specifier), kind, line: lineOf(node.getStart(source)) });
  };

  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const clause = node.importClause;
      const typeOnly = clause !== undefined && (clause.isTypeOnly || allNamedTypeOnly(clause));
      addImport(node.moduleSpecifier.text, typeOnly ? 'type' : 'static', node);
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      addImport(node.moduleSpecifier.text, node.isTypeOnly ? 'type' : 'static', node);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const first = node.arguments[0];
      if (first && ts.isStringLiteralLike(first)) addImport(first.text, 'dynamic', node);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      addImport(node.argument.literal.text, 'type', node);
    }
    if (
      ts.isFunctionDeclaration(node) ||
      ts.isFunctionExpression(node) ||
      ts.isArrowFunction(node) ||
      ts.isMethodDeclaration(node) ||
      ts.isConstructorDeclaration(node) ||
      ts.isGetAccessorDeclaration(node) ||
      ts.isSetAccessorDeclaration(node)
    ) {
      const start = lineOf(node.getStart(source));
      const end = lineOf(node.getEnd());
      functions.push({ name: functionName(node), line: start, lines: end - start + 1 });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return { file, imports, functions };
}

function allNamedTypeOnly(clause: ts.ImportClause): boolean {
  if (clause.name) return false;
  const bindings = clause.namedBindings;
  if (!bindings || !ts.isNamedImports(bindings)) return false;
  return bindings.elements.length > 0 && bindings.elements.every((e) => e.isTypeOnly);
}

function functionName(node: ts.Node): string {
  const named = node as { name?: ts.Node };
  if (named.name && (ts.isIdentifier(named.name) || ts.isPrivateIdentifier(named.name))) return named.name.text;
  const parent = node.parent;
  if (parent && ts.isVariableDeclaration(parent) && ts.isIdentifier(parent.name)) return parent.name.text;
  if (parent && ts.isPropertyAssignment(parent) && ts.isIdentifier(parent.name)) return parent.name.text;
  if (ts.isConstructorDeclaration(node)) return 'constructor';
  return '(anonymous)';
}

export function readModules(root: string, dirs: string[]): Map<string, SourceModule> {
  const modules = new Map<string, SourceModule>();
  for (const dir of dirs) for (const file of listTsFiles(root, dir)) modules.set(file, readModule(root, file));
  return modules;
}

/** Every module reachable from `entry` over runtime imports (static; dynamic too when asked). */
export function reachable(modules: Map<string, SourceModule>, entry: string, withDynamic = false): Set<string> {
  const seen = new Set<string>();
  const stack = [entry];
  while (stack.length > 0) {
    const file = stack.pop() as string;
    if (seen.has(file)) continue;
    seen.add(file);
    for (const edge of modules.get(file)?.imports ?? []) {
      if (edge.kind === 'type' || (edge.kind === 'dynamic' && !withDynamic)) continue;
      if (edge.target && modules.has(edge.target)) stack.push(edge.target);
    }
  }
  return seen;
}

/** Import cycles over runtime (non-type) imports, each as the files around it. */
export function findCycles(modules: Map<string, SourceModule>): string[][] {
  const cycles: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const trail: string[] = [];
  const visit = (file: string): void => {
    state.set(file, 'open');
    trail.push(file);
    for (const edge of modules.get(file)?.imports ?? []) {
      if (edge.kind !== 'static' || !edge.target || !modules.has(edge.target)) continue;
      const seen = state.get(edge.target);
      if (seen === 'open') cycles.push(trail.slice(trail.indexOf(edge.target)));
      else if (seen === undefined) visit(edge.target);
    }
    trail.pop();
    state.set(file, 'done');
  };
  for (const file of modules.keys()) if (!state.has(file)) visit(file);
  return cycles;
}

export const isTfjs = (specifier: string): boolean => specifier.startsWith('@tensorflow/');
