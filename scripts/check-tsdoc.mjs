#!/usr/bin/env node
// Fails when an exported declaration of a package's sources has no TSDoc comment (`/** … */`), as CONTRIBUTING.md asks.
// Checked: exported functions, classes and their public members (constructors excepted: the class comment covers them),
// interfaces and their members, type aliases, variables (const/let) and enums, in every `packages/*/src/**/*.ts` that
// is not a test. Overloaded functions need the comment once, on the first signature.
// Usage: node scripts/check-tsdoc.mjs [ROOT]   (ROOT defaults to the repository root)
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';

/**
 * Packages still being written: their missing comments are listed and counted but do not fail the check.
 * The lead empties this list once their authors have finished; nothing else should be added to it.
 */
const EXEMPT_PACKAGES = [];

const root = process.argv[2] ?? new URL('..', import.meta.url).pathname;
const packagesDirectory = join(root, 'packages');

function* sourceFiles(directory) {
  for (const entry of readdirSync(directory).sort()) {
    const path = join(directory, entry);
    if (statSync(path).isDirectory()) {
      if (entry !== 'node_modules') yield* sourceFiles(path);
    } else if (/\.(ts|mts)$/.test(entry) && !/\.(test|spec)\.m?ts$/.test(entry) && !/\.d\.m?ts$/.test(entry)) {
      yield path;
    }
  }
}

/** True when the node carries a non-empty `/** … *\/` comment directly before it. */
function hasTsdoc(node, sourceText) {
  const ranges = ts.getLeadingCommentRanges(sourceText, node.getFullStart()) ?? [];
  return ranges.some((range) => {
    const text = sourceText.slice(range.pos, range.end);
    if (!text.startsWith('/**') || text === '/**/') return false;
    return text.slice(3, -2).replace(/[\s*]/g, '').length > 0;
  });
}

function isExported(node) {
  return (ts.getCombinedModifierFlags(node) & ts.ModifierFlags.Export) !== 0;
}

function isPublicMember(member) {
  const flags = ts.getCombinedModifierFlags(member);
  if (flags & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected)) return false;
  return !(member.name && ts.isPrivateIdentifier(member.name));
}

function memberName(member, sourceFile) {
  if (!member.name)
    return ts.isIndexSignatureDeclaration(member)
      ? '[index]'
      : ts.isCallSignatureDeclaration(member)
        ? '(call)'
        : '(anonymous)';
  return member.name.getText(sourceFile);
}

/** The undocumented exported declarations of one file, as `line: kind name`. */
function missingComments(path) {
  const sourceText = readFileSync(path, 'utf8');
  const sourceFile = ts.createSourceFile(path, sourceText, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const missing = [];
  const report = (node, kind, name) => {
    const { line } = sourceFile.getLineAndCharacterOfPosition(node.getStart(sourceFile));
    missing.push(`${line + 1}: ${kind} ${name}`);
  };
  const documentedFunctions = new Set();
  const checkMembers = (ownerName, members, isClass) => {
    const seenOverloads = new Set();
    for (const member of members) {
      if (ts.isConstructorDeclaration(member) || ts.isClassStaticBlockDeclaration(member)) continue;
      if (ts.isSemicolonClassElement(member)) continue;
      if (isClass && !isPublicMember(member)) continue;
      const name = memberName(member, sourceFile);
      // A method's overloads and implementation share one comment, on the first declaration.
      if (ts.isMethodDeclaration(member) || ts.isMethodSignature(member)) {
        if (seenOverloads.has(name)) continue;
        seenOverloads.add(name);
      }
      if (!hasTsdoc(member, sourceText)) report(member, 'member', `${ownerName}.${name}`);
    }
  };
  for (const statement of sourceFile.statements) {
    if (ts.isExportAssignment(statement)) {
      if (!hasTsdoc(statement, sourceText)) report(statement, 'export', 'default');
      continue;
    }
    if (!isExported(statement)) continue;
    if (ts.isFunctionDeclaration(statement)) {
      const name = statement.name?.text ?? 'default';
      if (documentedFunctions.has(name)) continue;
      documentedFunctions.add(name);
      if (!hasTsdoc(statement, sourceText)) report(statement, 'function', name);
    } else if (ts.isClassDeclaration(statement)) {
      const name = statement.name?.text ?? 'default';
      if (!hasTsdoc(statement, sourceText)) report(statement, 'class', name);
      checkMembers(name, statement.members, true);
    } else if (ts.isInterfaceDeclaration(statement)) {
      if (!hasTsdoc(statement, sourceText)) report(statement, 'interface', statement.name.text);
      checkMembers(statement.name.text, statement.members, false);
    } else if (ts.isTypeAliasDeclaration(statement)) {
      if (!hasTsdoc(statement, sourceText)) report(statement, 'type', statement.name.text);
    } else if (ts.isEnumDeclaration(statement)) {
      if (!hasTsdoc(statement, sourceText)) report(statement, 'enum', statement.name.text);
    } else if (ts.isVariableStatement(statement)) {
      // The comment sits before `export const`; a lone declaration may also carry its own.
      const statementDocumented = hasTsdoc(statement, sourceText);
      for (const declaration of statement.declarationList.declarations) {
        if (statementDocumented || hasTsdoc(declaration, sourceText)) continue;
        report(declaration, 'variable', declaration.name.getText(sourceFile));
      }
    } else if (ts.isModuleDeclaration(statement)) {
      if (!hasTsdoc(statement, sourceText)) report(statement, 'namespace', statement.name.getText(sourceFile));
    }
  }
  return missing;
}

let failing = 0;
const exemptCounts = new Map();
for (const directory of readdirSync(packagesDirectory).sort()) {
  const sourceDirectory = join(packagesDirectory, directory, 'src');
  try {
    if (!statSync(sourceDirectory).isDirectory()) continue;
  } catch {
    continue;
  }
  const packagePath = `packages/${directory}`;
  const exempt = EXEMPT_PACKAGES.includes(packagePath);
  let count = 0;
  for (const path of sourceFiles(sourceDirectory)) {
    const missing = missingComments(path);
    if (missing.length === 0) continue;
    count += missing.length;
    const stream = exempt ? process.stdout : process.stderr;
    for (const entry of missing) stream.write(`${exempt ? '(exempt) ' : ''}${relative(root, path)}:${entry}\n`);
  }
  if (exempt) exemptCounts.set(packagePath, count);
  else failing += count;
}

for (const [packagePath, count] of exemptCounts) {
  console.log(`${packagePath}: ${count} exported declaration(s) without TSDoc (exempt while it is being written)`);
}
if (failing > 0) {
  console.error(
    `${failing} exported declaration(s) without a TSDoc comment (/** … */). Document them: what it is, units, shapes, errors.`,
  );
  process.exit(1);
}
console.log('TSDoc: every exported declaration of the checked packages has a comment.');
