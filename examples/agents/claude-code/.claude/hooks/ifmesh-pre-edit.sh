#!/bin/sh
exec ifmesh agent-hook PreToolUse
