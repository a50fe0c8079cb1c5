import { defineConfig } from "drizzle-kit";

// `npm run db:generate` writes SQL into migrations/; the relay applies it at start on PGlite and Postgres alike.
export default defineConfig({
  dialect: "postgresql",
  schema: "./src/db/schema.ts",
  out: "./migrations",
  casing: "snake_case",
});
