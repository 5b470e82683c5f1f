// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @dev The Staking system module (native precompile) of OpenLedger; also the stakers' pool that
/// receives the stakers' part of every inference fee.
address constant STAKING_ADDRESS = 0x4f50454E00000000000000000000000000000004;

/// @title IStaking
/// @notice Validators, delegations, rewards, the stake-elected QBFT validator set, and slashing.
/// Names follow Cosmos EVM's staking precompile (StakingI.sol); the delegator is always msg.sender.
/// Amounts are in wei of OPEN; commission in basis points; times are block timestamps (seconds).
/// @custom:address 0x4f50454e00000000000000000000000000000004
interface IStaking {
    enum BondStatus {
        Unspecified,
        Unbonded,
        Unbonding,
        Bonded
    }

    /// @notice Why a validator was slashed or jailed.
    enum Infraction {
        Unspecified,
        DoubleSign,
        Downtime,
        LowSelfDelegation
    }

    struct Description {
        string moniker;
        string identity;
        string website;
        string securityContact;
        string details;
    }

    struct Validator {
        /// @notice The account that created the validator, receives its commission and controls it.
        address operator;
        /// @notice The QBFT signer (node key) address.
        address consensusAddress;
        BondStatus status;
        bool jailed;
        /// @notice Permanently jailed after a double sign.
        bool tombstoned;
        uint64 jailedUntil;
        uint256 tokens;
        uint256 delegatorShares;
        uint256 selfDelegation;
        uint16 commissionBps;
        uint16 maxCommissionBps;
        uint16 maxCommissionChangeBps;
        uint256 minSelfDelegation;
        /// @notice Block and time at which the validator left the set (Unbonding/Unbonded).
        uint64 unbondingHeight;
        uint64 unbondingTime;
        /// @notice Commission earned and not yet withdrawn.
        uint256 commission;
        Description description;
    }

    struct UnbondingEntry {
        uint64 id;
        uint64 creationHeight;
        uint64 completionTime;
        uint256 initialBalance;
        /// @notice After slashes for offences that happened before the entry was created.
        uint256 balance;
    }

    struct RedelegationEntry {
        uint64 id;
        uint64 creationHeight;
        uint64 completionTime;
        uint256 initialBalance;
        uint256 sharesDst;
    }

    struct SigningInfo {
        /// @notice Proposer slots recorded in the current window.
        uint64 slots;
        uint32 missed;
        bool jailed;
        bool tombstoned;
        uint64 jailedUntil;
    }

    struct Epoch {
        uint64 number;
        uint64 startBlock;
        /// @notice First block of the next epoch (its set is elected after the block before it).
        uint64 nextStartBlock;
        bytes32 setHash;
    }

    struct Supply {
        /// @notice New OPEN minted as block rewards since genesis.
        uint256 minted;
        /// @notice OPEN destroyed by slashing since genesis.
        uint256 burned;
        /// @notice Bonded to validators (any status).
        uint256 staked;
        /// @notice In unbonding entries (before slashes not yet applied to them).
        uint256 unbonding;
        /// @notice Rewards received and not yet withdrawn (incl. rounding dust).
        uint256 rewardPool;
    }

    struct Params {
        uint64 epochLength;
        uint16 maxValidators;
        uint16 minValidators;
        uint32 maxCandidates;
        uint64 unbondingTime;
        uint8 maxEntries;
        uint256 minSelfDelegation;
        uint256 blockReward;
        uint16 slashFractionDoubleSignBps;
        uint16 slashFractionDowntimeBps;
        uint16 reporterRewardBps;
        uint64 maxEvidenceAge;
        uint32 signedBlocksWindow;
        uint16 minSignedPerWindowBps;
        uint64 downtimeJailDuration;
    }

    // ---- validators ----------------------------------------------------------------------------

    /// @notice Creates a validator operated by msg.sender, self-delegating msg.value. It joins the
    /// QBFT set at an epoch boundary if its stake ranks among the top `maxValidators`.
    function createValidator(
        Description calldata description,
        uint16 commissionBps,
        uint16 maxCommissionBps,
        uint16 maxCommissionChangeBps,
        uint256 minSelfDelegation,
        address consensusAddress
    ) external payable returns (bool success);

    /// @notice Edits msg.sender's validator. A description field "[do-not-modify]" keeps it;
    /// commissionBps / minSelfDelegation -1 keep them. Commission changes at most once per 24 h by at
    /// most maxCommissionChangeBps; minSelfDelegation can only grow.
    function editValidator(Description calldata description, int256 commissionBps, int256 minSelfDelegation)
        external
        returns (bool success);

    // ---- delegations ---------------------------------------------------------------------------

    /// @notice Delegates msg.value to `validator`; pays out the delegation's pending rewards.
    function delegate(address validator) external payable returns (uint256 newShares);

    /// @notice Starts unbonding `amount` from `validator`; the tokens are paid to msg.sender
    /// automatically at `completionTime` (unless slashed for an earlier offence meanwhile).
    function undelegate(address validator, uint256 amount) external returns (int64 completionTime);

    /// @notice Moves `amount` at once; it stays slashable for offences of `validatorSrc` committed
    /// before now until `completionTime`.
    function redelegate(address validatorSrc, address validatorDst, uint256 amount)
        external
        returns (int64 completionTime);

    /// @notice Re-delegates `amount` of the unbonding entry created at `creationHeight`.
    function cancelUnbonding(address validator, uint256 amount, uint256 creationHeight) external returns (bool success);

    /// @notice Pays msg.sender's rewards on its delegation to `validator`.
    function withdrawRewards(address validator) external returns (uint256 amount);

    /// @notice Pays msg.sender's validator commission.
    function withdrawCommission() external returns (uint256 amount);

    // ---- slashing ------------------------------------------------------------------------------

    /// @notice Evidence of equivocation: two QBFT messages of type `code` (0x12 proposal, 0x13
    /// prepare, 0x14 commit, 0x15 round change), each its RLP SignedData, by the same validator for
    /// the same height and round with different digests. Slashes, tombstones, pays the reporter.
    function submitEvidence(uint8 code, bytes calldata first, bytes calldata second)
        external
        returns (bytes32 evidenceHash);

    /// @notice Ends msg.sender's validator's downtime (or low self-delegation) jail.
    function unjail() external returns (bool success);

    // ---- governance ----------------------------------------------------------------------------

    /// @notice Only the Governance module (executed proposals).
    function setParams(Params calldata params) external returns (bool success);

    // ---- views ---------------------------------------------------------------------------------

    function validator(address validator) external view returns (Validator memory);

    /// @notice Validators with `status` (Unspecified: all), in creation order.
    function validators(BondStatus status, uint256 offset, uint256 limit)
        external
        view
        returns (Validator[] memory page, uint256 total);

    function delegation(address delegator, address validator)
        external
        view
        returns (uint256 shares, uint256 balance);

    /// @notice The validators `delegator` holds a delegation with.
    function delegatorValidators(address delegator) external view returns (address[] memory);

    function unbondingDelegations(address delegator, address validator)
        external
        view
        returns (UnbondingEntry[] memory entries);

    function redelegations(address delegator, address validatorSrc, address validatorDst)
        external
        view
        returns (RedelegationEntry[] memory entries);

    function pendingRewards(address delegator, address validator) external view returns (uint256);

    /// @notice The QBFT signer addresses of the set that validates the next block, sorted.
    function activeValidatorSet() external view returns (address[] memory);

    function epoch() external view returns (Epoch memory);

    function signingInfo(address validator) external view returns (SigningInfo memory);

    function totalBonded() external view returns (uint256);

    function supply() external view returns (Supply memory);

    function params() external view returns (Params memory);

    // ---- events --------------------------------------------------------------------------------

    event CreateValidator(address indexed validator, address indexed consensusAddress, uint256 value);
    event EditValidator(address indexed validator, uint16 commissionBps, uint256 minSelfDelegation);
    event Delegate(address indexed delegator, address indexed validator, uint256 amount, uint256 newShares);
    event Unbond(address indexed delegator, address indexed validator, uint256 amount, uint256 completionTime);
    event Redelegate(
        address indexed delegator,
        address indexed validatorSrc,
        address indexed validatorDst,
        uint256 amount,
        uint256 completionTime
    );
    event CancelUnbonding(
        address indexed delegator, address indexed validator, uint256 amount, uint256 creationHeight
    );
    event WithdrawRewards(address indexed delegator, address indexed validator, uint256 amount);
    event WithdrawCommission(address indexed validator, uint256 amount);
    event Slash(address indexed validator, Infraction reason, uint256 infractionHeight, uint256 amount, uint256 burned);
    event Jail(address indexed validator, Infraction reason, uint64 until);
    event Unjail(address indexed validator);
    event EvidenceSubmitted(
        bytes32 indexed evidenceHash,
        address indexed validator,
        address indexed reporter,
        uint8 code,
        uint64 height,
        uint32 round,
        uint256 reward
    );
    event ParamsUpdated();

    // ---- errors --------------------------------------------------------------------------------

    error MalformedCalldata();
    error UnknownSelector(bytes4 selector);
    error WriteProtection();
    error NonPayable(uint256 value);
    error OnlyGovernance(address caller);
    error InvalidParams(string field, string reason);
    error ZeroAmount();
    error AmountTooSmall(uint256 amount);
    error ValidatorInsolvent();
    error InsufficientDelegation(uint256 balance, uint256 requested);
    error ValidatorExists(address operator);
    error ValidatorNotFound(address validator);
    error ConsensusAddressInUse(address consensusAddress);
    error InvalidConsensusAddress();
    error InvalidCommission(uint16 commissionBps, uint16 maxCommissionBps, uint16 maxCommissionChangeBps);
    error CommissionChangeTooLarge(uint16 current, uint16 requested, uint16 maxChange);
    error CommissionChangeTooSoon(uint64 next);
    error MinSelfDelegationBelowFloor(uint256 minSelfDelegation, uint256 floor);
    error MinSelfDelegationDecrease(uint256 current, uint256 requested);
    error SelfDelegationBelowMinimum(uint256 selfDelegation, uint256 minSelfDelegation);
    error DescriptionTooLong(string field, uint256 maxLength);
    error TooManyValidators(uint256 max);
    error TooManyEntries(uint256 max);
    error TooManyDelegations(uint256 max);
    error SelfRedelegation();
    error TransitiveRedelegation(address validator);
    error UnbondingEntryNotFound(uint256 creationHeight);
    error NothingToWithdraw();
    error InvalidEvidence(string reason);
    error EvidenceTooOld(uint64 height, uint64 maxAge);
    error EvidenceFromFuture(uint64 height);
    error EvidenceAlreadySubmitted(bytes32 evidenceHash);
    error NotInValidatorSet(address consensusAddress, uint64 height);
    error AlreadyTombstoned(address validator);
    error NotJailed(address validator);
    error JailPeriodNotOver(uint64 until);
}
