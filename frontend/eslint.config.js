// ESLint 9 flat config (`npm run lint`, run by `make frontend` before the build): the recommended rules
// of ESLint, typescript-eslint and React Hooks (rules of hooks, exhaustive deps, React Compiler checks).
import js from "@eslint/js";
import { defineConfig, globalIgnores } from "eslint/config";
import reactHooks from "eslint-plugin-react-hooks";
import globals from "globals";
import tseslint from "typescript-eslint";

export default defineConfig(
  // The build, and the types openapi-typescript generates (`make api-types`): not ours to edit.
  globalIgnores(["dist/", "src/api/schema.d.ts", "src/api/socket-messages.d.ts"]),
  js.configs.recommended,
  tseslint.configs.recommended,
  reactHooks.configs.flat.recommended,
  { files: ["src/**/*.{ts,tsx}"], languageOptions: { globals: globals.browser } },
  { files: ["scripts/**", "*.config.{js,ts}"], languageOptions: { globals: globals.node } },
);
