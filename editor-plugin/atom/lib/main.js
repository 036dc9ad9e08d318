'use strict';
// Entry point Pulsar loads: the global `atom` environment and `document` go into the package built in package.js.
const { createPackage } = require('./package');

module.exports = createPackage({ atom: global.atom, document: global.document });
