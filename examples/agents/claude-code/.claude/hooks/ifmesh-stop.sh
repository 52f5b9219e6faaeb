#!/bin/sh
exec ifmesh agent-hook Stop
