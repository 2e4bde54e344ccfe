// A Data module (wrangler.jsonc "rules"): the file's bytes.
declare module "*.keras" {
  const bytes: ArrayBuffer;
  export default bytes;
}
