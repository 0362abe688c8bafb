// The addon's version; a test keeps it equal to package.json's.
#pragma once

#define JOULE_ADDON_VERSION "0.1.0"
