// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ATTRIBUTION_ADDRESS, IAttribution} from "../IAttribution.sol";
import {DATANETS_ADDRESS, IDatanets} from "../IDatanets.sol";

/// @notice Example app: users pay per answer through this contract, which settles the provider's
/// receipt with the Attribution module on their behalf (receipt payer = this contract or zero).
contract PayPerAnswer {
    IAttribution internal constant ATTRIBUTION = IAttribution(ATTRIBUTION_ADDRESS);
    IDatanets internal constant DATANETS = IDatanets(DATANETS_ADDRESS);

    event Answered(address indexed user, bytes32 indexed receiptId, uint256 fee);

    error WrongFee(uint256 sent, uint256 fee);

    function answer(IAttribution.InferenceReceipt calldata receipt, bytes calldata signature)
        external
        payable
        returns (bytes32 receiptId)
    {
        if (msg.value != receipt.fee) revert WrongFee(msg.value, receipt.fee);
        receiptId = ATTRIBUTION.settle{value: msg.value}(receipt, signature);
        emit Answered(msg.sender, receiptId, msg.value);
    }

    /// @notice Reads through the module views (works under STATICCALL).
    function sharesOf(address holder, uint256 datanetId) external view returns (uint256) {
        return DATANETS.balanceOf(holder, datanetId);
    }
}
