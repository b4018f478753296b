// The vitest configuration `pnpm mutation` runs mutants under: the root one, narrowed to the tests of
// one target (MUTATION_TESTS, a folder) so each mutant costs only that package's tests.
import { defineConfig } from "vitest/config";
import base from "../vitest.config.js";

const folder = process.env.MUTATION_TESTS;
if (folder === undefined || folder === "") throw new Error("MUTATION_TESTS must name the folder whose tests to run");

export default defineConfig({ ...base, test: { ...base.test, include: [`${folder}/**/*.test.ts`] } });
