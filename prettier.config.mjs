// Prettier, checked by `npm run lint` (see .prettierignore for what it covers today).
// Chosen to match the hand-written style of src/: double quotes, semicolons, trailing commas, wide lines.
export default {
  printWidth: 120,
  trailingComma: "all",
};
