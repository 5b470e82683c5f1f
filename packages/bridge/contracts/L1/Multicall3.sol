// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.26;

/// @title Multicall3
/// @notice The `aggregate3` entry point of the well-known Multicall3, deployed by `openledger l1
///         deploy` on an L1 that lacks it (a fresh anvil): viem's op-stack actions batch their
///         reads through it (`getTimeToFinalize`, `getTimeToNextL2Output`).
contract Multicall3 {
    struct Call3 {
        address target;
        bool allowFailure;
        bytes callData;
    }

    struct Result {
        bool success;
        bytes returnData;
    }

    function aggregate3(Call3[] calldata calls) external payable returns (Result[] memory returnData) {
        require(msg.value == 0, "Multicall3: value not accepted");
        returnData = new Result[](calls.length);
        for (uint256 i = 0; i < calls.length; i++) {
            (bool success, bytes memory ret) = calls[i].target.call(calls[i].callData);
            require(success || calls[i].allowFailure, "Multicall3: call failed");
            returnData[i] = Result(success, ret);
        }
    }

    function getBlockNumber() external view returns (uint256) {
        return block.number;
    }

    function getCurrentBlockTimestamp() external view returns (uint256) {
        return block.timestamp;
    }
}
