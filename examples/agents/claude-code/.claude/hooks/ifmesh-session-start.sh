#!/bin/sh
exec ifmesh agent-hook SessionStart
