/** Minimal typing of the `bindings` package: load a compiled addon by its target name. */
declare module "bindings" {
  function bindings(name: string): any;
  export = bindings;
}
