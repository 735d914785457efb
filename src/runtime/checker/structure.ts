/**
 * File-level rules: the entry point CloudFront calls, and the module bindings the sandbox must provide.
 */
import type { ImportDeclaration, Program } from 'acorn';
import type { SourceProblem } from '../checker.js';

/** A `FUNCTION_NO_HANDLER` problem unless the file declares `function handler` (or `async function handler`) at top level. */
export function checkHandler(program: Program): SourceProblem[] {
  // `export function handler` is reported as an unsupported `export`; a second, NO_HANDLER problem would be noise.
  const declared = program.body.some((statement) => {
    const declaration = statement.type === 'ExportNamedDeclaration' ? statement.declaration : statement;
    return declaration?.type === 'FunctionDeclaration' && declaration.id.name === 'handler';
  });
  if (declared) return [];
  return [{ line: 1, column: 1, message: 'The function code must declare a top-level function named handler', code: 'FUNCTION_NO_HANDLER' }];
}

/** The top-level `import local from 'module'` statements, in source order. */
export function defaultImports(program: Program): Array<{ node: ImportDeclaration; local: string; module: string }> {
  const imports: Array<{ node: ImportDeclaration; local: string; module: string }> = [];
  for (const statement of program.body) {
    if (statement.type !== 'ImportDeclaration') continue;
    const specifier = statement.specifiers[0];
    if (specifier?.type !== 'ImportDefaultSpecifier') continue;
    imports.push({ node: statement, local: specifier.local.name, module: String(statement.source.value) });
  }
  return imports;
}
