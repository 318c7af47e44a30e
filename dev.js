'use strict';
// `require('spark-sync/dev')`: the development services (src/dev), apart from the library's API.
module.exports = require('./dist/src/dev/index.js');
