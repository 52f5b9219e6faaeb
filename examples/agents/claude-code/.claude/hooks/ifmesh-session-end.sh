#!/bin/sh
exec ifmesh agent-hook SessionEnd
