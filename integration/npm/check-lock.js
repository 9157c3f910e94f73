// Fails with one clear line when package.json and package-lock.json disagree (run by make before npm ci).
const dir = __dirname;
const pkg = require(dir + "/package.json");
const lock = require(dir + "/package-lock.json").packages;
for (const [name, pin] of Object.entries(pkg.dependencies)) {
  const root = (lock[""].dependencies || {})[name];
  const got = (lock["node_modules/" + name] || {}).version;
  if (root !== pin || got !== pin) {
    console.error(`integration/npm: package.json pins ${name}@${pin} but package-lock.json has ${got} (root asks ${root}); ` +
      "run `npm install " + `${name}@${pin}` + "` in integration/npm and commit package-lock.json");
    process.exit(1);
  }
}
